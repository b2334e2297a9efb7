"""verify_ledger reads the anchor directory by default: a database whose
checkpoints are fewer than, or differ from, the anchor files is broken
(issue 15, finding 6)."""

import json

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger.anchors import check_anchor_dir
from disclosure.ledger.checkpoints import write_checkpoint
from disclosure.ledger.tasks import verify_all_chains
from tests.factories import inbound_kwargs, make_case
from tests.ledger.tampering import rewrite_chain, run_verify, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(analyst, vendor, other_vendor):
    one = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    two = make_case(Stage.FOUND, actor=analyst, vendor=other_vendor)
    return one, two


@pytest.fixture
def anchored(cases, analyst, django_capture_on_commit_callbacks):
    """Two checkpoints, each in the database and in the anchor directory."""
    one, _ = cases
    with django_capture_on_commit_callbacks(execute=True):
        first = write_checkpoint().checkpoint
    services.log_communication(actor=analyst, case=one, **inbound_kwargs(now()))
    with django_capture_on_commit_callbacks(execute=True):
        second = write_checkpoint().checkpoint
    return first, second


def test_an_intact_anchor_directory_passes(anchored, _ledger_anchor):
    assert sorted(p.name for p in _ledger_anchor.iterdir()) == [
        "checkpoint-00000001.json",
        "checkpoint-00000002.json",
    ]
    code, output = run_verify()
    assert code == 0, output
    assert "note:" not in output


def test_deleted_checkpoint_rows_are_broken(anchored):
    sql("DELETE FROM ledger_checkpoint")

    code, output = run_verify()

    assert code == 1
    assert "no checkpoint yet" not in output
    assert (
        "LEDGER: the database has no checkpoint #1, but the anchor directory has "
        "checkpoint-00000001.json (checkpoint rows were deleted)"
    ) in output
    assert (
        "LEDGER: the database has no checkpoint #2, but the anchor directory has "
        "checkpoint-00000002.json (checkpoint rows were deleted)"
    ) in output


def test_fewer_checkpoints_than_anchor_files_are_broken(anchored):
    sql("DELETE FROM ledger_checkpoint WHERE seq = 2")

    code, output = run_verify()

    assert code == 1
    assert "the database has no checkpoint #2" in output
    assert "the database has no checkpoint #1" not in output


def test_a_replaced_checkpoint_row_is_broken(anchored):
    sql("UPDATE ledger_checkpoint SET hash = %s WHERE seq = 1", ["f" * 64])

    code, output = run_verify()

    assert code == 1
    assert (
        "LEDGER: the database's checkpoint #1 differs from the anchor file "
        "checkpoint-00000001.json (checkpoint rows were replaced)"
    ) in output


def test_chains_are_checked_against_the_anchor_when_the_rows_are_gone(anchored, cases):
    one, two = cases
    rewrite_chain(one, lambda event, case: event.payload.update(x=1) if event.seq == 1 else None)
    sql("DELETE FROM ledger_checkpoint")

    code, output = run_verify()

    assert code == 1
    assert (
        f"{one.reference}: BROKEN at seq 6: event differs from the checkpointed head "
        "(the chain was rewritten)"
    ) in output
    assert f"{two.reference}: intact" in output


def test_an_edited_anchor_file_is_broken(anchored, _ledger_anchor):
    path = _ledger_anchor / "checkpoint-00000001.json"
    doc = json.loads(path.read_text())
    doc["checkpoint"]["event_count"] += 1
    path.chmod(0o644)
    path.write_text(json.dumps(doc))

    code, output = run_verify()

    assert code == 1
    assert "anchor checkpoint-00000001.json: checkpoint #1: the signature does not verify" in output
    assert (
        "anchor checkpoint-00000001.json: checkpoint #1: its hash does not match its content"
        in output
    )


def test_an_unreadable_anchor_file_is_broken(anchored, _ledger_anchor):
    path = _ledger_anchor / "checkpoint-00000002.json"
    path.chmod(0o644)
    path.write_text("{not json")

    result = check_anchor_dir()

    assert len(result.problems) == 1
    assert result.problems[0].startswith("anchor checkpoint-00000002.json: unreadable checkpoint (")


def test_a_checkpoint_without_its_anchor_file_is_only_a_note(anchored, _ledger_anchor):
    (_ledger_anchor / "checkpoint-00000002.json").unlink()

    code, output = run_verify()

    assert code == 0, output
    assert "note: checkpoint(s) #2 of the database have no anchor file" in output


def test_no_anchor_directory_is_a_note(cases, tmp_path):
    code, output = run_verify("--anchor-dir", str(tmp_path / "nowhere"))

    assert code == 0, output
    assert f"note: no anchor files in {tmp_path / 'nowhere'}" in output


def test_another_anchor_directory_can_be_named(anchored, _ledger_anchor, tmp_path):
    copy = tmp_path / "offsite"
    copy.mkdir()
    name = "checkpoint-00000001.json"
    (copy / name).write_bytes((_ledger_anchor / name).read_bytes())
    sql("DELETE FROM ledger_checkpoint WHERE seq = 1")

    code, output = run_verify("--anchor-dir", str(copy))

    assert code == 1
    assert "the database has no checkpoint #1, but the anchor directory has" in output


def test_the_nightly_task_reads_the_anchor_directory(anchored):
    sql("DELETE FROM ledger_checkpoint")

    result = verify_all_chains()

    assert (
        "the database has no checkpoint #1, but the anchor directory has "
        "checkpoint-00000001.json (checkpoint rows were deleted)"
    ) in result["checkpoint_problems"]
