"""docs/export-format.md is the export's contract (issue 15, finding 2):

- its field tables and a real export name the same fields, both ways, for
  every object of the full and vendor variants (communications whole and
  excerpted, a checkpoint with its RFC 3161 token); its fingerprint lists are
  the ledger's; its version is the bundle's;
- a verifier written from the document alone
  (tests/exports/independent/verifier_from_doc.py), run in an interpreter
  whose path holds only pyHanko, pypdf and their own dependencies, verifies
  a real signed export and refuses forged ones."""

import ast
import copy
import hashlib
import io
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from disclosure.cases import services as case_services
from disclosure.cases.guards import locked_case
from disclosure.cases.stages import Stage
from disclosure.cases.visibility import VENDOR_EVENT_KEYS
from disclosure.comms.services import MailHeaders, write_communication
from disclosure.core.canonical import canonical_json
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile, write_evidence
from disclosure.exports import bundle as bundle_module
from disclosure.exports import services, signing
from disclosure.ledger import checkpoints, fingerprints
from disclosure.ledger.chain import compute_hash
from disclosure.ledger.models import EventKind
from disclosure.ledger.signing import public_hex, signing_key
from tests.exports import support_signing as support
from tests.exports.rich_case import *  # noqa: F403
from tests.exports.signing_fixtures import *  # noqa: F403
from tests.factories import MembershipFactory, make_case

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "export-format.md"
VERIFIER = Path(__file__).resolve().parent / "independent" / "verifier_from_doc.py"


# -- the document's tables -------------------------------------------------------


def _tables(marker: str) -> dict[str, list[list[str]]]:
    """Every table introduced by ``<!-- marker: NAME -->``: NAME -> its data
    rows, each a list of cells (header and rule left out)."""
    tables: dict[str, list[list[str]]] = {}
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(rf"<!-- {marker}: (\w+) -->", line.strip())
        if m is None:
            continue
        assert m[1] not in tables, f"two tables for {m[1]}"
        rows = []
        for row in lines[i + 3 :]:
            if not row.startswith("|"):
                break
            rows.append([cell.strip() for cell in row.strip().strip("|").split("|")])
        tables[m[1]] = rows
    return tables


def _name(cell: str) -> str:
    m = re.fullmatch(r"`([a-z_0-9]+)`", cell)
    assert m, f"the first column must be a field name in backticks: {cell!r}"
    return m[1]


def documented_objects() -> dict[str, dict[str, tuple[set[str], str]]]:
    """object -> field -> (variants, presence)."""
    out = {}
    for obj, rows in _tables("object").items():
        fields = {}
        for cells in rows:
            variants = {v.strip() for v in cells[2].split(",")}
            assert variants <= {"full", "vendor"} and cells[3] in (
                "always", "excerpt", "timestamped", "set"
            ), (obj, cells)  # fmt: skip
            fields[_name(cells[0])] = (variants, cells[3])
        out[obj] = fields
    return out


def _instances(bundle: dict) -> dict[str, list[dict]]:
    """Every object of ``bundle``, by the document's object names."""
    case, records = bundle["case"], bundle["records"]
    events = bundle["events"]
    complete = [e for e in events if "withheld" not in e and "projected" not in e]
    shown = [e for e in events if "withheld" not in e]
    found = {
        "bundle": [bundle],
        "case": [case],
        "stage_row": case["stages"],
        "stage_override": [s["override"] for s in case["stages"] if s["override"]],
        "stage_correction": [c for s in case["stages"] for c in s["corrections"]],
        "chain": [bundle["chain"]],
        "event": complete,
        "actor": [e["actor"] for e in shown],
        "withheld_event": [e for e in events if e.get("withheld")],
        "projected_event": [e for e in events if e.get("projected")],
        "record_ref": [e["payload"]["record"] for e in shown if "record" in e["payload"]],
        "records": [records],
        "communication": records["communications"],
        "evidence": records["evidence"],
        "attestation": [records["attestation"]] if records["attestation"] else [],
        "dispute": records["disputes"],
        "escalation": records["escalations"],
        "checkpoint": [bundle["checkpoint"]],
        "checkpoint_body": [bundle["checkpoint"]["checkpoint"]],
        "inclusion_proof": [bundle["inclusion_proof"]],
    }
    return found


def _stamped_checkpoint(django_capture_on_commit_callbacks):
    """A checkpoint over every case, with its RFC 3161 token (the TSA is
    asked when the checkpoint commits)."""
    with django_capture_on_commit_callbacks(execute=True):
        cp = checkpoints.write_checkpoint(force=True).checkpoint
    assert cp.timestamp is not None
    return cp


@pytest.mark.django_db
def test_the_document_and_real_exports_name_the_same_fields(
    rich_case, lead, vendor, tsa, django_capture_on_commit_callbacks
):
    doc = documented_objects()
    # A second case, published before it was secured: a stage row with an override.
    overridden = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    overridden = case_services.publish(
        actor=lead,
        case=overridden,
        occurred_at=now(),
        url="https://firm.example/advisory",
        title="Advisory",
        override_justification="The vendor stopped answering and users must act now.",
    )
    # The rich case's dispute answered and settled: the fields added to a
    # dispute (fingerprinted only once set) are in its record.
    dispute = rich_case.disputes.get()
    # Both parties' count claims on it, resting on an imported list (issue 19).
    from disclosure.affected import importing
    from disclosure.affected.claims import file_count_claim

    batch = importing.start_import(
        actor=lead, case=rich_case, file=io.BytesIO(b"domain\nexample.com\n"),
        filename="l.csv", format="csv",
    )  # fmt: skip
    importing.run_import(batch_id=batch.pk)
    contact = MembershipFactory(organization=rich_case.vendor, role="vendor_contact").user
    for actor, count in ((lead, 1), (contact, 0)):
        file_count_claim(actor=actor, case=rich_case, level="domains", count=count,
                         method="counted", dispute=dispute)  # fmt: skip
    case_services.answer_dispute(
        actor=lead, case=rich_case, dispute=dispute, answer="Our count stands."
    )
    case_services.settle_dispute(
        actor=lead, case=rich_case, dispute=dispute, outcome="rejected", reason="No new facts."
    )
    _log_emailed_reply(rich_case, lead)
    cp = _stamped_checkpoint(django_capture_on_commit_callbacks)
    seen: dict[tuple[str, str], set[str]] = {}
    for case in (rich_case, overridden):
        case.refresh_from_db()
        for variant in ("full", "vendor"):
            for mode in ("full", "excerpt"):
                bundle = bundle_module.build_bundle(
                    case=case,
                    variant=variant,
                    communications=mode,
                    generated_at=now(),
                    checkpoint=cp,
                )
                _compare(doc, bundle, variant, mode, seen)
    # Both ways: every field the document lists for a variant is in a real export.
    for obj, fields in doc.items():
        for variant in ("full", "vendor"):
            listed = {f for f, (vs, _) in fields.items() if variant in vs}
            missing = listed - seen.get((obj, variant), set())
            assert missing == set(), f"{obj} ({variant}): documented but never exported: {missing}"
    assert {obj for obj, _ in seen} == set(doc)


def _log_emailed_reply(case, actor) -> None:
    """An automatic reply received by e-mail: the mail fields of a
    communication (fingerprinted only once set) are in its record."""
    raw = (
        b"From: Out Of Office <it@contoso.example>\r\nTo: research@firm.example\r\n"
        b"Subject: Re: [exposure] Auto: away\r\nMessage-ID: <away-1@contoso.example>\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nAway until Monday.\r\n"
    )
    with locked_case(case, actor=actor, action="log_communication") as locked:
        raw_file = write_evidence(
            case=locked,
            actor=actor,
            file=IncomingFile("away-1.eml", io.BytesIO(raw), kind=EvidenceKind.RAW_MESSAGE),
        )
        write_communication(
            case=locked,
            actor=actor,
            direction="inbound",
            channel="email",
            sender="it@contoso.example",
            recipients=["research@firm.example"],
            subject="Re: [exposure] Auto: away",
            body="Away until Monday.",
            occurred_at=now(),
            mail=MailHeaders(
                message_id="<away-1@contoso.example>",
                raw_message=raw_file,
                in_reply_to="<notice-1@firm.example>",
                references=["<notice-1@firm.example>"],
                sender_unknown=False,
                automated="auto_reply",
            ),
        )


def _compare(doc, bundle, variant: str, mode: str, seen) -> None:
    """Every object of ``bundle`` has the keys the document lists for it
    (those ``always`` there, and ``excerpt`` ones in an excerpted export),
    none other; what was seen is added to ``seen``."""
    for obj, rows in _instances(bundle).items():
        assert obj in doc, f"the document has no table for {obj}"
        fields = {f: p for f, (vs, p) in doc[obj].items() if variant in vs}
        required = {f for f, p in fields.items() if p == "always"}
        if mode == "excerpt":
            required |= {f for f, p in fields.items() if p == "excerpt"}
        for row in rows:
            keys = set(row)
            where = f"{obj} in a {variant} export (communications {mode})"
            assert keys - set(fields) == set(), f"{where}: undocumented {keys - set(fields)}"
            assert required - keys == set(), f"{where}: documented, absent {required - keys}"
            seen.setdefault((obj, variant), set()).update(keys)


def test_the_fingerprint_lists_are_the_ledgers():
    tables = _tables("fingerprint")
    assert set(tables) == set(fingerprints.RECORD_TYPES)
    objects = documented_objects()
    for name, rtype in fingerprints.RECORD_TYPES.items():
        listed = [_name(cells[0]) for cells in tables[name]]
        assert listed == [*rtype.columns, *rtype.added, *([rtype.m2m] if rtype.m2m else [])], name
        # Each fingerprinted field is in the record's full-variant table, said so.
        record = objects[name]
        for field in listed:
            assert "full" in record[field][0], (name, field)
        marked = {
            _name(cells[0])
            for cells in _tables("object")[name]
            if cells[4].startswith("fingerprinted")
        }
        assert marked == set(listed), name


def test_the_document_names_the_formats_version_kinds_and_vendor_keys():
    text = DOC.read_text(encoding="utf-8")
    assert text.splitlines()[0] == f"# Disclosure export format {bundle_module.FORMAT_VERSION}"
    assert f'`"format": "{bundle_module.FORMAT}"` | `"v": {bundle_module.FORMAT_VERSION}`' in text
    assert f'`"format": "{checkpoints.FORMAT}"`' in text
    assert f"`{bundle_module.ATTACHMENT_NAME}`" in text
    kinds = set(re.findall(r"`([a-z_]+)`", text.split("Event kinds:")[1].split("The payload")[0]))
    assert kinds == set(EventKind.values)
    table = text.split("| Kind | Payload keys a vendor may see |")[1].split("\n\n")[0]
    rows = [r for r in table.strip().splitlines()[1:]]
    documented = {
        _name(r.split("|")[1].strip()): set(re.findall(r"`([a-z_0-9]+)`", r.split("|")[2]))
        for r in rows
    }
    assert documented == {k: set(v) for k, v in VENDOR_EVENT_KEYS.items()}
    assert "/tmp/h" not in Path(bundle_module.__file__).read_text()
    assert "docs/export-format.md" in Path(bundle_module.__file__).read_text()
    # The threat model states the known and accepted limit.
    assert "appended by the application's own database role" in " ".join(text.split())


# -- the independent verifier --------------------------------------------------------


def _closure(*names: str) -> set[str]:
    """The distributions ``names`` need at run time (their extras left out)."""
    seen, todo = set(), list(names)
    while todo:
        try:
            dist = metadata.distribution(todo.pop())
        except metadata.PackageNotFoundError:
            continue  # a dependency for another platform or Python
        name = dist.metadata["Name"].lower()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(
            re.match(r"[A-Za-z0-9_.\-]+", req).group(0)
            for req in dist.requires or []
            if "extra ==" not in req
        )
    return seen


@pytest.fixture(scope="module")
def only_pyhanko_pypdf(tmp_path_factory) -> Path:
    """A folder holding pyHanko, pypdf and their own dependencies, nothing
    else: the whole of the child's sys.path beside the standard library."""
    folder = tmp_path_factory.mktemp("only-pyhanko-pypdf")
    for name in _closure("pyHanko", "pypdf"):
        dist = metadata.distribution(name)
        for file in dist.files or []:
            top = file.parts[0]
            if top in ("..", "bin", "__pycache__") or top.endswith(".dist-info"):
                continue
            source = Path(dist.locate_file(top))
            if not (folder / top).exists() and source.exists():
                (folder / top).symlink_to(source)
    return folder


def _child(folder: Path, cwd: Path, *args: str, code: str | None = None):
    """Run the verifier (or ``code``) in an isolated interpreter (-I -S: no
    site-packages, no environment) whose path is ``folder`` and the stdlib."""
    bootstrap = f"import runpy, sys; sys.path[:0] = [{str(folder)!r}]; " + (
        code
        or f"sys.argv = [{str(VERIFIER)!r}, *sys.argv[1:]]; "
        f"runpy.run_path({str(VERIFIER)!r}, run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap, *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=180,
    )


ALLOWED_IMPORTS = {"pyhanko", "pyhanko_certvalidator", "asn1crypto", "cryptography", "pypdf"}


def test_the_independent_verifier_imports_nothing_of_the_project():
    tree = ast.parse(VERIFIER.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add(node.module.split(".")[0])
    assert imported - sys.stdlib_module_names <= ALLOWED_IMPORTS, imported
    assert {"pyhanko", "pypdf"} <= imported
    source = VERIFIER.read_text(encoding="utf-8")
    assert "verify_export" not in source and "disclosure." not in source


def _forge(bundle: dict) -> tuple[dict, str]:
    """The issue's forgery: the case_opened event's title edited, the chain
    recomputed, and a one-case checkpoint over the new head signed with a
    fresh Ed25519 key (its proof and no timestamp token)."""
    forged = copy.deepcopy(bundle)
    forged["events"][0]["payload"]["details"]["title"] = "Nothing was exposed"
    prev = "0" * 64
    for event in forged["events"]:
        event["prev_hash"] = prev
        event["hash"] = prev = compute_hash({k: v for k, v in event.items() if k != "hash"})
    forged["chain"]["head"] = prev
    entry = [forged["case"]["reference"], len(forged["events"]), prev]
    key = Ed25519PrivateKey.generate()
    body = {
        "v": 1,
        "seq": 1,
        "created_at": forged["generated_at"],
        "case_count": 1,
        "event_count": entry[1],
        "root": hashlib.sha256(b"\x00" + canonical_json(entry)).hexdigest(),
        "prev_hash": "0" * 64,
        "public_key": public_hex(key),
    }
    signature = key.sign(canonical_json(body)).hex()
    forged["checkpoint"] = {
        "format": "disclosure-ledger-checkpoint",
        "checkpoint": body,
        "signature": signature,
        "hash": hashlib.sha256(canonical_json({**body, "signature": signature})).hexdigest(),
    }
    forged["inclusion_proof"] = {"leaf_index": 0, "tree_size": 1, "entry": entry, "path": []}
    return forged, public_hex(key)


def _run(folder, tmp_path, name: str, data: bytes, *args: str):
    (tmp_path / name).write_bytes(data)
    result = _child(folder, tmp_path, name, *args)
    verdict = [line for line in result.stdout.splitlines() if line.startswith("VERDICT: ")]
    assert len(verdict) == 1, result.stdout + result.stderr
    return result.returncode, verdict[0], result.stdout


@pytest.mark.django_db
def test_a_verifier_written_from_the_document_checks_real_and_forged_exports(
    rich_case,
    tsa,
    settings,
    firm_certs,
    mallory_certs,
    only_pyhanko_pypdf,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    folder = only_pyhanko_pypdf
    # The child has pyHanko and pypdf, and nothing of the project or Django.
    for module in ("disclosure", "django", "tests", "weasyprint"):
        probe = _child(folder, tmp_path, code=f"import {module}")
        assert f"No module named '{module}'" in probe.stderr, probe.stderr
    assert _child(folder, tmp_path, code="import pyhanko, pypdf").returncode == 0

    support.use_certificates(settings, firm_certs)
    _stamped_checkpoint(django_capture_on_commit_callbacks)
    ca, tsa_ca = str(firm_certs.ca_cert), str(tsa.ca_cert)
    ledger_key = public_hex(signing_key())
    anchors = ("--ca", ca, "--ledger-key", ledger_key, "--tsa-ca", tsa_ca)

    # Real exports, made by the export service (rendered, signed PAdES B-T).
    full_pdf, full, _, signed = services.produce(
        case=rich_case, variant="full", communications="full", format="pdf"
    )
    assert signed and "timestamp_token" in full["checkpoint"]
    code, verdict, out = _run(folder, tmp_path, "full.pdf", full_pdf, *anchors)
    assert (code, verdict) == (0, "VERDICT: VERIFIED"), out
    for step in ("signature", "signer", "signature time", "bundle", "chain", "printed head",
                 "records", "checkpoint", "checkpoint time", "ledger key"):  # fmt: skip
        assert re.search(rf"^ok    {step}: ", out, re.M), (step, out)
    assert "ok    records: 7 fingerprints recomputed and vouched" in out
    assert "(TSA anchored)" in out

    vendor_pdf, vendor, _, _ = services.produce(
        case=rich_case, variant="vendor", communications="excerpt", format="pdf"
    )
    assert any(e.get("withheld") for e in vendor["events"])
    assert any(e.get("projected") for e in vendor["events"])
    code, verdict, out = _run(folder, tmp_path, "vendor.pdf", vendor_pdf, *anchors)
    assert (code, verdict) == (0, "VERDICT: VERIFIED"), out

    # Genuine but unanchored: intact, not authenticated, the anchors named.
    code, verdict, out = _run(folder, tmp_path, "full.pdf", full_pdf)
    assert (code, verdict) == (
        6,
        "VERDICT: INTACT, NOT AUTHENTICATED (missing: the CA for the PDF signer; "
        "a ledger key for the checkpoint's key)",
    ), out
    full_json, _, _, _ = services.produce(
        case=rich_case, variant="full", communications="full", format="json"
    )
    code, verdict, out = _run(
        folder, tmp_path, "full.json", full_json, "--allow-unsigned", "--ledger-key", ledger_key
    )
    assert (code, verdict) == (
        6,
        "VERDICT: INTACT, NOT AUTHENTICATED (missing: a signature over the whole file)",
    ), out

    # Forged: an event edited, the chain recomputed, a checkpoint signed by a
    # fresh key. Signed with the firm's own certificate (an insider), the
    # pinned ledger key refuses it; signed by another CA, the signer does.
    forged, forger_key = _forge(full)
    forged_pdf = signing.sign_pdf(support.render(forged))
    code, verdict, out = _run(folder, tmp_path, "forged.pdf", forged_pdf, *anchors)
    assert (code, verdict) == (5, "VERDICT: BROKEN (exit 5)"), out
    assert f"FAIL  ledger key: {forger_key} is not one of the given ledger keys" in out
    forged_json = canonical_json(forged)
    code, verdict, out = _run(
        folder, tmp_path, "forged.json", forged_json, "--allow-unsigned", "--ledger-key", ledger_key
    )
    assert (code, verdict) == (5, "VERDICT: BROKEN (exit 5)"), out
    mallory_pdf = support.attacker_signs(settings, mallory_certs, forged)
    code, verdict, out = _run(folder, tmp_path, "mallory.pdf", mallory_pdf, *anchors)
    assert (code, verdict) == (4, "VERDICT: BROKEN (exit 4)"), out
    # An event edited without recomputing: the chain breaks.
    edited = copy.deepcopy(full)
    edited["events"][0]["payload"]["details"]["title"] = "Nothing was exposed"
    code, verdict, out = _run(
        folder, tmp_path, "edited.json", canonical_json(edited), "--allow-unsigned"
    )
    assert (code, verdict) == (3, "VERDICT: BROKEN (exit 3)"), out
    assert "FAIL  chain: event 1: its hash does not recompute" in out
    # A record changed behind the ledger's back: its fingerprint no longer matches.
    record = copy.deepcopy(full)
    record["records"]["disputes"][0]["vendor_position"] = "Nobody was affected"
    code, verdict, out = _run(
        folder, tmp_path, "record.json", canonical_json(record), "--allow-unsigned"
    )
    assert (code, verdict) == (3, "VERDICT: BROKEN (exit 3)"), out
    assert "FAIL  records: dispute " in out
    # One byte of the signed PDF flipped.
    code, verdict, out = _run(
        folder, tmp_path, "flipped.pdf", support.flip(full_pdf, len(full_pdf) // 3), *anchors
    )
    assert code == 2, out
