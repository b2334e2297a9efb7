"""scripts/check_system.py names what is missing instead of failing deep inside:
what WeasyPrint 70 really cannot load without, and what the legal export needs
to render the same bytes every time (its fonts, HarfBuzz's subsetter)."""

import ctypes
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_system.py"


@pytest.fixture
def check_system():
    spec = importlib.util.spec_from_file_location("check_system", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hide_libraries(monkeypatch, module, *sonames):
    """Make the dynamic loader fail for these sonames, as on a machine without them."""
    real_cdll = ctypes.CDLL

    def cdll(name, *args, **kwargs):
        if name in sonames:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return real_cdll(name, *args, **kwargs)

    monkeypatch.setattr(module.ctypes, "CDLL", cdll)


def test_passes_on_this_machine(check_system, capsys):
    assert check_system.main([]) == 0
    assert "System check passed" in capsys.readouterr().out


def test_required_libraries_are_weasyprint_70s_hard_requirements(check_system):
    assert set(check_system.WEASYPRINT_LIBRARIES) == {
        "libgobject-2.0.so.0",
        "libpango-1.0.so.0",
        "libpangoft2-1.0.so.0",
        "libharfbuzz.so.0",
        "libfontconfig.so.1",
    }
    assert check_system.EXPORT_LIBRARIES == {"libharfbuzz-subset.so.0": "libharfbuzz-subset0"}


def test_missing_library_is_named_with_its_package(check_system, capsys, monkeypatch):
    monkeypatch.setitem(
        check_system.WEASYPRINT_LIBRARIES, "libdisclosure-missing.so.0", "libdisclosure-missing0"
    )
    assert check_system.main([]) == 1
    err = capsys.readouterr().err
    assert "missing: libdisclosure-missing.so.0" in err
    assert "sudo apt-get install" in err and "libdisclosure-missing0" in err
    assert "libpango-1.0-0" in err


def test_missing_pango_fails_naming_its_package(check_system, capsys, monkeypatch):
    hide_libraries(monkeypatch, check_system, "libpango-1.0.so.0")
    assert check_system.main([]) == 1
    err = capsys.readouterr().err
    assert "missing: libpango-1.0.so.0  (Debian/Ubuntu package libpango-1.0-0)" in err
    assert "sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0" in err


def test_missing_harfbuzz_subset_fails_for_the_exports_sake(check_system, capsys, monkeypatch):
    """WeasyPrint renders without it, but not the same bytes twice (see below)."""
    hide_libraries(monkeypatch, check_system, "libharfbuzz-subset.so.0")
    assert check_system.main([]) == 1
    captured = capsys.readouterr()
    assert "libharfbuzz-subset.so.0 is not installed" in captured.err
    assert "sudo apt-get install libharfbuzz-subset0" in captured.err
    assert "System check passed" not in captured.out
    assert check_system.main(["--apt-packages"]) == 0
    assert capsys.readouterr().out == "libharfbuzz-subset0\n"


def test_apt_packages_is_empty_when_nothing_is_missing(check_system, capsys, monkeypatch):
    monkeypatch.setenv("CHROMIUM", sys.executable)  # any executable stands for the browser
    assert check_system.main(["--apt-packages", "--browser"]) == 0
    assert capsys.readouterr().out == "\n"


def test_apt_packages_names_pango_for_a_missing_required_library(check_system, capsys, monkeypatch):
    hide_libraries(monkeypatch, check_system, "libfontconfig.so.1", "libharfbuzz-subset.so.0")
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    assert check_system.main(["--apt-packages"]) == 0
    assert capsys.readouterr().out == "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0\n"
    assert check_system.main(["--apt-packages", "--browser"]) == 0
    assert capsys.readouterr().out == (
        "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium\n"
    )


def test_apt_packages_names_python3_venv_without_ensurepip(check_system, capsys, monkeypatch):
    real_find_spec = check_system.importlib.util.find_spec
    monkeypatch.setattr(
        check_system.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ensurepip" else real_find_spec(name, *a),
    )
    assert check_system.main(["--apt-packages"]) == 0
    assert capsys.readouterr().out == "python3-venv\n"


@pytest.mark.parametrize("subset_library", [True, False])
def test_only_harfbuzz_subset_renders_the_same_bytes_a_second_later(tmp_path, subset_library):
    """WeasyPrint 70 itself, in a fresh interpreter: without the subset library
    it renders, but fontTools stamps each embedded font with the time, so two
    renders a second apart differ; with it they are the same bytes. (Why
    check_system requires it.)"""
    code = textwrap.dedent(
        """
        import sys, time, warnings
        import cffi

        real_dlopen = cffi.FFI.dlopen

        def dlopen(self, name, *args, **kwargs):
            if "harfbuzz-subset" in str(name) and sys.argv[1] == "hide":
                raise OSError(f"{name}: cannot open shared object file")
            return real_dlopen(self, name, *args, **kwargs)

        cffi.FFI.dlopen = dlopen
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import weasyprint
            from weasyprint.text.ffi import harfbuzz_subset
        assert (harfbuzz_subset is None) == (sys.argv[1] == "hide")
        first = weasyprint.HTML(string="<p>Disclosure Ärger 漢字</p>").write_pdf()
        time.sleep(1.1)
        second = weasyprint.HTML(string="<p>Disclosure Ärger 漢字</p>").write_pdf()
        assert first.startswith(b"%PDF-")
        print("rendered", weasyprint.__version__, "same" if first == second else "different")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "show" if subset_library else "hide"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["rendered", result.stdout.split()[1],
                                     "same" if subset_library else "different"]  # fmt: skip
    assert result.stdout.startswith("rendered 70.")


def test_apt_packages_names_openssl_for_the_tests_time_stamping_authority(
    check_system, capsys, monkeypatch
):
    real_which = check_system.shutil.which
    monkeypatch.setattr(
        check_system.shutil, "which", lambda name: None if name == "openssl" else real_which(name)
    )
    assert check_system.main(["--apt-packages"]) == 0
    assert capsys.readouterr().out == "openssl\n"


def test_apt_packages_names_dovecot_with_mail_only(check_system, capsys, monkeypatch):
    """The mail tests' IMAP server: asked for with --mail (CI), not by `make`."""
    real_which = check_system.shutil.which
    real_access = check_system.os.access
    monkeypatch.setattr(
        check_system.shutil, "which", lambda name: None if name == "dovecot" else real_which(name)
    )
    monkeypatch.setattr(
        check_system.os,
        "access",
        lambda path, mode: False if "dovecot" in str(path) else real_access(path, mode),
    )
    monkeypatch.setenv("CHROMIUM", sys.executable)
    assert check_system.main(["--apt-packages"]) == 0
    assert capsys.readouterr().out == "\n"
    assert check_system.main(["--apt-packages", "--browser", "--mail"]) == 0
    assert capsys.readouterr().out == "dovecot-imapd\n"


def test_apt_packages_finds_dovecot_in_sbin_off_the_path(check_system, capsys, monkeypatch):
    """Debian installs dovecot in /usr/sbin, which a non-root PATH often lacks."""
    real_which = check_system.shutil.which
    real_access = check_system.os.access
    monkeypatch.setattr(
        check_system.shutil, "which", lambda name: None if name == "dovecot" else real_which(name)
    )
    monkeypatch.setattr(
        check_system.os,
        "access",
        lambda path, mode: path == "/usr/sbin/dovecot" or real_access(path, mode),
    )
    assert check_system.dovecot_path() == "/usr/sbin/dovecot"
    assert check_system.main(["--apt-packages", "--mail"]) == 0
    assert capsys.readouterr().out == "\n"
