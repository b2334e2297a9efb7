"""Checkpoints: what the mutation pass found unchecked in ledger/checkpoints.py.
The hash of a checkpoint by its formula, which chains a new checkpoint
verifies (and against what), a case that disappears, the anchor files, the
messages of a broken checkpoint chain and the checks of a file kept outside
the database. Expected values are written out, not read back."""

import hashlib
import json
import logging
import stat
from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.storage import blob_name, evidence_storage
from disclosure.ledger.checkpoints import (
    inclusion_proof,
    load_checkpoint_file,
    verify_checkpoints,
    write_anchor,
    write_checkpoint,
)
from disclosure.ledger.models import Checkpoint
from tests.factories import inbound_kwargs, make_case
from tests.ledger.tampering import rewrite_chain, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(analyst, lead, vendor, other_vendor):
    one = make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor)
    two = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=other_vendor)
    one.refresh_from_db()
    two.refresh_from_db()
    return one, two


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _body(cp: Checkpoint) -> dict:
    return {
        "v": 1, "seq": cp.seq, "created_at": cp.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "case_count": cp.case_count, "event_count": cp.event_count, "root": cp.root,
        "prev_hash": cp.prev_hash, "public_key": cp.public_key,
    }  # fmt: skip


def test_the_hash_covers_the_body_and_the_signature(cases):
    cp = write_checkpoint().checkpoint
    expected = hashlib.sha256(_canonical({**_body(cp), "signature": cp.signature})).hexdigest()
    assert cp.hash == expected


def test_only_changed_chains_are_verified_again(cases, analyst):
    _, two = cases
    assert write_checkpoint().verified_cases == 2
    services.log_communication(
        actor=analyst, case=two, **inbound_kwargs(now() - timedelta(hours=1))
    )
    result = write_checkpoint()
    assert result.verified_cases == 1 and result.problems == []


def test_a_rewritten_chain_is_checked_against_the_last_checkpoint(cases):
    one, _ = cases
    first = write_checkpoint().checkpoint
    rewrite_chain(one, lambda event, case: None if event.seq != 2 else event.payload.update(x=1))
    result = write_checkpoint(force=True)
    assert result.problems == [
        f"{one.reference}: event differs from the checkpointed head (the chain was rewritten)"
    ]
    kept = {e[0]: e for e in result.checkpoint.entries}[one.reference]
    assert kept == [one.reference, one.ledger_seq, one.ledger_head]
    assert kept == {e[0]: e for e in first.entries}[one.reference]


def test_a_new_checkpoint_checks_the_records_of_a_changed_chain(cases, analyst):
    one, _ = cases
    write_checkpoint()
    services.log_communication(
        actor=analyst, case=one, **inbound_kwargs(now() - timedelta(hours=1))
    )
    comm = Communication.objects.filter(case=one).order_by("-pk").first()
    Communication.objects.filter(pk=comm.pk).update(body="Never said.")
    result = write_checkpoint()
    assert result.problems == [
        f"{one.reference}: communication {comm.pk} differs from what the ledger recorded"
    ]


def test_a_checkpoint_vouches_for_rows_not_for_stored_bytes(cases, analyst):
    # Re-reading every evidence file is verify_ledger --deep's job; the
    # hourly checkpoint compares rows only.
    one, _ = cases
    write_checkpoint()
    services.log_communication(
        actor=analyst, case=one, **inbound_kwargs(now() - timedelta(hours=1))
    )
    evidence = EvidenceFile.objects.filter(case=one).first()
    with open(evidence_storage().path(blob_name(evidence.sha256)), "wb") as blob:
        blob.write(b"doctored")
    result = write_checkpoint()
    assert result.problems == [] and result.verified_cases == 1


def test_a_checkpointed_case_that_disappears_keeps_its_entry(cases):
    one, _ = cases
    write_checkpoint()
    old = one.reference
    sql("UPDATE cases_case SET reference = %s WHERE id = %s", ["DSC-2099-0001", one.pk])
    result = write_checkpoint(force=True)
    assert f"{old}: the checkpointed case is missing" in result.problems
    entries = {e[0]: e for e in result.checkpoint.entries}
    assert entries[old] == [old, one.ledger_seq, one.ledger_head]


def test_anchors_go_into_a_new_nested_directory_one_file_each(
    cases, settings, tmp_path, analyst, django_capture_on_commit_callbacks
):
    _, two = cases
    settings.DISCLOSURE_ANCHOR_DIR = tmp_path / "deep" / "er" / "anchor"
    with django_capture_on_commit_callbacks(execute=True):
        first = write_checkpoint().checkpoint
    services.log_communication(
        actor=analyst, case=two, **inbound_kwargs(now() - timedelta(hours=1))
    )
    with django_capture_on_commit_callbacks(execute=True):
        second = write_checkpoint().checkpoint
    for cp in (first, second):
        path = tmp_path / "deep" / "er" / "anchor" / f"checkpoint-{cp.seq:08d}.json"
        expected = {
            "format": "disclosure-ledger-checkpoint",
            "checkpoint": _body(cp),
            "signature": cp.signature,
            "hash": cp.hash,
            "entries": cp.entries,
        }
        assert path.read_text() == json.dumps(expected, sort_keys=True, indent=1)
        assert stat.S_IMODE(path.stat().st_mode) == 0o444  # read-only once written


def test_an_anchor_is_never_overwritten(cases, _ledger_anchor, caplog):
    cp = write_checkpoint().checkpoint
    path = write_anchor(cp)
    assert path == _ledger_anchor / "checkpoint-00000001.json"
    assert write_anchor(cp) == path  # the same checkpoint again: nothing new
    assert sorted(p.name for p in _ledger_anchor.iterdir()) == ["checkpoint-00000001.json"]
    original = path.read_bytes()
    other = Checkpoint(**{f.name: getattr(cp, f.name) for f in Checkpoint._meta.fields})
    other.hash = "f" * 64
    with caplog.at_level(logging.ERROR, logger="disclosure.ledger.checkpoints"):
        conflict = write_anchor(other)
    assert conflict == _ledger_anchor / f"checkpoint-00000001.conflict-{'f' * 16}.json"
    assert path.read_bytes() == original
    assert json.loads(conflict.read_text())["hash"] == "f" * 64
    assert [r.getMessage() for r in caplog.records] == [
        f"anchor {path} holds a different checkpoint #1: the database's checkpoints were "
        "replaced or rolled back; the new one is kept beside it"
    ]


def test_a_broken_checkpoint_chain_is_named(cases, analyst):
    _, two = cases
    write_checkpoint()
    services.log_communication(
        actor=analyst, case=two, **inbound_kwargs(now() - timedelta(hours=1))
    )
    write_checkpoint()
    sql("DELETE FROM ledger_checkpoint WHERE seq = 1")
    heads, problems = verify_checkpoints()
    assert problems == [
        "checkpoint #1 is missing (found #2)",
        "checkpoint #2 does not link to the previous checkpoint",
    ]
    assert heads[two.reference] == (two.ledger_seq + 1, two.events.order_by("-seq")[0].hash)


def test_a_checkpoint_with_a_wrong_hash_is_named(cases):
    write_checkpoint()
    sql("UPDATE ledger_checkpoint SET hash = %s", ["ab" * 32])
    assert verify_checkpoints()[1] == ["checkpoint #1: its hash does not match its content"]
    sql("UPDATE ledger_checkpoint SET signature = %s", ["cd" * 64])
    assert verify_checkpoints()[1] == [
        "checkpoint #1: the signature does not verify",
        "checkpoint #1: its hash does not match its content",
    ]


@pytest.fixture
def anchored(cases, _ledger_anchor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        cp = write_checkpoint().checkpoint
    return cp, _ledger_anchor / "checkpoint-00000001.json"


def test_an_intact_checkpoint_file_has_no_problems(anchored, cases):
    _, path = anchored
    one, two = cases
    heads, problems = load_checkpoint_file(path)
    assert problems == []
    assert heads == {
        one.reference: (one.ledger_seq, one.ledger_head),
        two.reference: (two.ledger_seq, two.ledger_head),
    }


def _rewrite(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    copy = path.with_name("copy.json")
    copy.write_text(json.dumps(doc))
    return copy


def test_a_file_of_another_format_is_unreadable(anchored):
    _, path = anchored
    copy = _rewrite(path, lambda doc: doc.update(format="something-else"))
    assert load_checkpoint_file(copy) == (
        {},
        [f"{copy}: unreadable checkpoint (not a Disclosure ledger checkpoint)"],
    )


def test_a_file_whose_entries_were_edited(anchored):
    _, path = anchored
    copy = _rewrite(path, lambda doc: doc["entries"][0].__setitem__(1, 1))
    _, problems = load_checkpoint_file(copy)
    assert problems == [f"{copy}: its entries do not match its Merkle root"]


def test_a_file_that_differs_from_the_database_copy(anchored):
    _, path = anchored
    sql("UPDATE ledger_checkpoint SET hash = %s", ["ab" * 32])
    _, problems = load_checkpoint_file(path)
    assert problems == [f"the database's checkpoint #1 differs from {path}"]


def test_an_inclusion_proof_names_its_entry(cases):
    one, _ = cases
    cp = write_checkpoint().checkpoint
    proof = inclusion_proof(cp, one.reference)
    assert proof["entry"] == [one.reference, one.ledger_seq, one.ledger_head]
