"""The standalone verifier (scripts/verify_export.py) run with nothing but
pyHanko, and manage.py verify_export: the same verdicts as in process."""

import copy
import io
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from disclosure.core.canonical import canonical_json as core_canonical
from disclosure.exports import signing, verifier
from disclosure.ledger.signing import public_hex, signing_key
from tests.exports import support_signing as support
from tests.exports.signing_fixtures import *  # noqa: F403
from tests.exports.support_signing import attacker_signs

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "verify_export.py"


def test_the_script_is_the_verifier_byte_for_byte():
    """scripts/verify_export.py is a copy (not a symlink: it is handed to
    third parties, and a copy survives a zip, a download or Windows); edit
    disclosure/exports/verifier.py and copy it over."""
    assert not SCRIPT.is_symlink()
    assert SCRIPT.read_bytes() == (ROOT / "disclosure" / "exports" / "verifier.py").read_bytes()


def _dependency_closure(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        dist_name = todo.pop()
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            continue  # a dependency for another platform or Python
        if dist.metadata["Name"].lower() in seen:
            continue
        seen.add(dist.metadata["Name"].lower())
        for req in dist.requires or []:
            if "extra ==" not in req:
                todo.append(re.match(r"[A-Za-z0-9_.\-]+", req).group(0))
    return seen


@pytest.fixture(scope="module")
def only_pyhanko(tmp_path_factory) -> Path:
    """A folder holding pyHanko and its own dependencies, nothing else (no
    Django, no project), to be the whole of sys.path beside the stdlib."""
    folder = tmp_path_factory.mktemp("only-pyhanko")
    for name in _dependency_closure("pyHanko"):
        dist = metadata.distribution(name)
        for file in dist.files or []:
            top = file.parts[0]
            source = Path(dist.locate_file(top))
            if top in ("..", "bin") or top.endswith(".dist-info") or top == "__pycache__":
                continue
            if not (folder / top).exists() and source.exists():
                (folder / top).symlink_to(source)
    assert not (folder / "django").exists()
    return folder


def _standalone(
    only_pyhanko: Path, cwd: Path, *args: str, code: str | None = None
) -> subprocess.CompletedProcess:
    """Run the script (or ``code``) with the standard library and
    ``only_pyhanko`` as the whole of sys.path, isolated from the environment."""
    bootstrap = f"import runpy, sys; sys.path[:0] = [{str(only_pyhanko)!r}]; " + (
        code
        or f"sys.argv = [{str(SCRIPT)!r}, *sys.argv[1:]]; "
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-X", "importtime", "-c", bootstrap, *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_standalone_script_needs_only_pyhanko_and_gives_the_same_verdicts(
    export, settings, mallory_certs, firm_certs, tmp_path, only_pyhanko
):
    pdf, bundle = export
    forged = copy.deepcopy(bundle)
    forged["events"][0]["payload"]["title"] = "Nothing exposed"
    forged_checkpoint = copy.deepcopy(bundle)
    forged_checkpoint["inclusion_proof"]["path"][0] = "ab" * 32
    files = {
        "good.pdf": pdf,
        "flipped.pdf": support.flip(pdf, len(pdf) // 3),
        "unsigned.pdf": support.render(bundle),
        "chain.pdf": signing.sign_pdf(support.render(forged)),
        "checkpoint.pdf": signing.sign_pdf(support.render(forged_checkpoint)),
        "mallory.pdf": attacker_signs(settings, mallory_certs, bundle),
    }
    expected = {
        "good.pdf": 0,
        "flipped.pdf": 2,
        "unsigned.pdf": 2,
        "chain.pdf": 3,
        "checkpoint.pdf": 5,
        "mallory.pdf": 4,
    }
    for module in ("django", "disclosure", "weasyprint"):  # nothing but pyHanko there
        probe = _standalone(only_pyhanko, tmp_path, code=f"import {module}")
        assert f"No module named '{module}'" in probe.stderr
    assert _standalone(only_pyhanko, tmp_path, code="import pyhanko").returncode == 0
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        ca = str(firm_certs.ca_cert)
        result = _standalone(only_pyhanko, tmp_path, name, "--trust", ca)
        in_process = io.StringIO()
        code = verifier.run(str(tmp_path / name), trust=ca, out=in_process)
        assert (name, result.returncode) == (name, expected[name]), result.stdout + result.stderr
        assert code == expected[name]
        assert result.stdout == in_process.getvalue().replace(str(tmp_path / name), name)
        imported = {
            line.split("|")[-1].strip().split(".")[0]
            for line in result.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "pyhanko" in imported
        assert not imported & {"django", "disclosure", "tests", "weasyprint", "pypdf"}
    unsigned = _standalone(only_pyhanko, tmp_path, "unsigned.pdf", "--allow-unsigned")
    assert unsigned.returncode == 6, unsigned.stdout + unsigned.stderr
    assert "Result: INTACT, NOT AUTHENTICATED (exit 6: missing anchors:" in unsigned.stdout
    good = _standalone(only_pyhanko, tmp_path, "good.pdf")
    assert good.returncode == 6
    assert good.stdout.endswith(
        "Result: INTACT, NOT AUTHENTICATED (exit 6: missing anchors: --trust CA.pem for the PDF "
        "signer; --ledger-key HEX for the checkpoint's key)\n"
    )
    pinned = _standalone(
        only_pyhanko, tmp_path, "good.pdf", "--trust", ca, "--ledger-key", public_hex(signing_key())
    )
    assert pinned.returncode == 0, pinned.stdout


def test_the_standalone_script_does_not_verify_a_forged_json_export(export, tmp_path, only_pyhanko):
    """Issue 15, finding 1, as reported: the script run on a JSON export whose
    event was edited, chain recomputed and one-case checkpoint signed with a
    fresh key, without --ledger-key, answered VERIFIED (exit 0)."""
    from tests.exports.test_verifier import _forge_with_fresh_ledger_key

    forged, forger_key = _forge_with_fresh_ledger_key(export[1])
    (tmp_path / "forged.json").write_bytes(core_canonical(forged) + b"\n")
    result = _standalone(only_pyhanko, tmp_path, "forged.json", "--allow-unsigned")
    assert result.returncode == 6, result.stdout + result.stderr
    assert "VERIFIED (exit 0" not in result.stdout
    assert f"{forger_key} is not anchored" in result.stdout
    pinned = _standalone(
        only_pyhanko,
        tmp_path,
        "forged.json",
        "--allow-unsigned",
        "--ledger-key",
        public_hex(signing_key()),
    )
    assert pinned.returncode == 5, pinned.stdout


def test_the_command_wraps_the_same_verifier(export, firm_certs, tmp_path):
    pdf, bundle = export
    good = tmp_path / "good.pdf"
    good.write_bytes(pdf)
    out = io.StringIO()
    call_command("verify_export", str(good), "--trust", str(firm_certs.ca_cert), stdout=out)
    assert "Result: VERIFIED (exit 0: all checks hold)" in out.getvalue()
    with pytest.raises(CommandError) as unanchored:
        call_command("verify_export", str(good), stdout=io.StringIO())
    assert unanchored.value.returncode == 6
    assert str(unanchored.value) == f"{good}: not verified (intact, not authenticated)"
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(support.render(bundle))
    with pytest.raises(CommandError) as failed:
        call_command("verify_export", str(unsigned), stdout=io.StringIO())
    assert failed.value.returncode == 2
    with pytest.raises(CommandError) as allowed:
        call_command("verify_export", str(unsigned), "--allow-unsigned", stdout=io.StringIO())
    assert allowed.value.returncode == 6
    with pytest.raises(CommandError) as missing:
        call_command("verify_export", str(tmp_path / "nope.pdf"), stdout=io.StringIO())
    assert missing.value.returncode == 1
