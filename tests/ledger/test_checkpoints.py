"""Signed checkpoints: what the database alone cannot prove (a cut end, a
chain rewritten whole) is caught against a checkpoint, in the database or
kept outside it."""

import hashlib
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.db import connection

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger import merkle
from disclosure.ledger.checkpoints import inclusion_proof, write_checkpoint
from disclosure.ledger.models import CaseEvent, Checkpoint
from tests.factories import inbound_kwargs, make_case
from tests.ledger.tampering import rewrite_chain, run_command, run_verify, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(analyst, lead, vendor, other_vendor):
    one = make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor)
    services.log_communication(
        actor=analyst, case=one, **inbound_kwargs(now() - timedelta(hours=1))
    )
    two = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=other_vendor)
    one.refresh_from_db()
    two.refresh_from_db()
    return one, two


def rfc9162_root(leaves: list[bytes]) -> str:
    """MTH written out from RFC 9162 section 2.1.1, recursively."""

    def mth(d):
        if len(d) == 1:
            return hashlib.sha256(b"\x00" + d[0]).digest()
        k = 1
        while k * 2 < len(d):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()

    return mth(leaves).hex()


def test_checkpoint_lists_every_head_signed_and_anchored(
    cases, _ledger_anchor, django_capture_on_commit_callbacks
):
    one, two = cases
    with django_capture_on_commit_callbacks(execute=True):
        result = write_checkpoint()
    cp = result.checkpoint
    assert result.problems == [] and result.verified_cases == 2
    assert cp.seq == 1 and cp.prev_hash == "0" * 64
    expected = sorted([[one.reference, one.ledger_seq, one.ledger_head],
                       [two.reference, two.ledger_seq, two.ledger_head]])  # fmt: skip
    assert cp.entries == expected
    assert cp.event_count == one.ledger_seq + two.ledger_seq
    leaves = [json.dumps(e, separators=(",", ":")).encode() for e in expected]
    assert cp.root == rfc9162_root(leaves)
    body = {
        "v": 1, "seq": 1, "created_at": cp.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "case_count": 2, "event_count": cp.event_count, "root": cp.root,
        "prev_hash": "0" * 64, "public_key": cp.public_key,
    }  # fmt: skip
    signed = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(cp.public_key)).verify(
        bytes.fromhex(cp.signature), signed
    )
    anchored = json.loads((_ledger_anchor / "checkpoint-00000001.json").read_text())
    assert anchored["entries"] == expected and anchored["hash"] == cp.hash
    assert anchored["checkpoint"] == body


def test_nothing_is_written_when_no_chain_changed(cases, analyst):
    write_checkpoint()
    assert write_checkpoint().checkpoint is None
    assert write_checkpoint(force=True).checkpoint.seq == 2
    services.log_communication(actor=analyst, case=cases[1], **inbound_kwargs(now()))
    third = write_checkpoint().checkpoint
    assert third.seq == 3 and third.prev_hash == Checkpoint.objects.get(seq=2).hash
    assert run_verify()[0] == 0


def test_inclusion_proof_verifies_against_the_root(cases):
    cp = write_checkpoint().checkpoint
    for i, entry in enumerate(cp.entries):
        proof = inclusion_proof(cp, entry[0])
        assert proof["leaf_index"] == i and proof["tree_size"] == 2
        data = json.dumps(entry, separators=(",", ":")).encode()
        path = [bytes.fromhex(h) for h in proof["path"]]
        assert merkle.verify_inclusion(i, 2, data, path, bytes.fromhex(cp.root))


def test_cut_end_with_rewound_head_is_caught_after_a_checkpoint(cases):
    """The issue's must-show: the last event deleted (trigger disabled as
    superuser), then ledger_seq/ledger_head rewound to match."""
    one, _ = cases
    write_checkpoint()
    last = CaseEvent.objects.get(case=one, seq=one.ledger_seq)
    previous = CaseEvent.objects.get(case=one, seq=one.ledger_seq - 1)
    sql("DELETE FROM ledger_caseevent WHERE id = %s", [last.pk])
    sql(
        "UPDATE cases_case SET ledger_seq = %s, ledger_head = %s WHERE id = %s",
        [previous.seq, previous.hash, one.pk],
    )
    sql("DELETE FROM comms_communication_attachments WHERE communication_id = %s",
        [last.payload["communication_id"]])  # fmt: skip
    sql("DELETE FROM comms_communication WHERE id = %s", [last.payload["communication_id"]])
    code, output = run_verify()
    assert code == 1
    assert (
        f"{one.reference}: BROKEN at seq {last.seq}: the checkpoint vouches for {last.seq} "
        f"events, the chain has {previous.seq} (events were removed)"
    ) in output


def test_chain_recomputed_after_moving_the_notification_is_caught(cases):
    one, _ = cases
    write_checkpoint()

    def earlier(event, case):
        if event.kind == "stage_changed" and event.payload["milestone"] == "vendor_notified":
            event.occurred_at -= timedelta(hours=1, minutes=30)
            case.vendor_notified_at = event.occurred_at

    rewrite_chain(one, earlier)
    code, output = run_verify(one.reference)
    assert code == 1
    assert "event differs from the checkpointed head (the chain was rewritten)" in output


def test_a_copy_outside_the_database_catches_rewritten_checkpoints(
    cases, _ledger_anchor, django_capture_on_commit_callbacks
):
    one, _ = cases
    with django_capture_on_commit_callbacks(execute=True):
        write_checkpoint()
    anchor = _ledger_anchor / "checkpoint-00000001.json"
    # The adversary rewrites a chain and the whole checkpoint table.
    rewrite_chain(one, lambda event, case: None if event.seq != 1 else event.payload.update(x=1))
    sql("DELETE FROM ledger_checkpoint")
    code, output = run_verify()  # the anchor directory is read by default
    assert code == 1
    assert "the database has no checkpoint #1, but the anchor directory has" in output
    assert f"{one.reference}: BROKEN at seq" in output
    code, output = run_verify("--checkpoint", str(anchor), "--anchor-dir", str(anchor.parent / "x"))
    assert code == 1
    assert "the database has no checkpoint #1 (removed?)" in output
    assert f"{one.reference}: BROKEN at seq 1" in output


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("UPDATE ledger_checkpoint SET root = %s", "its entries do not match its Merkle root"),
        ("UPDATE ledger_checkpoint SET signature = %s", "the signature does not verify"),
        ("UPDATE ledger_checkpoint SET public_key = %s", "a key this deployment does not trust"),
    ],
)
def test_tampered_checkpoints_are_reported(statement, expected, cases):
    write_checkpoint()
    value = {"root": "ab" * 32, "signature": "cd" * 64, "public_key": "ef" * 32}[
        statement.split()[3]
    ]
    sql(statement, [value])
    code, output = run_verify()
    assert code == 1 and expected in output


def test_a_checkpoint_never_vouches_for_a_broken_chain(cases):
    one, two = cases
    first = write_checkpoint().checkpoint
    services.log_communication(actor=None or two.events.first().actor, case=one,
                               **inbound_kwargs(now()))  # fmt: skip
    sql("UPDATE cases_case SET stage = 'closed' WHERE id = %s", [one.pk])
    result = write_checkpoint()
    problem = f"{one.reference}: the case row differs from its ledger: stage"
    assert result.problems == [problem]
    assert result.checkpoint is None  # nothing it could vouch for changed
    result = write_checkpoint(force=True)
    assert result.problems == [problem]
    entry = {e[0]: e for e in result.checkpoint.entries}[one.reference]
    assert entry == {e[0]: e for e in first.entries}[one.reference]
    code, _ = run_command("ledger_checkpoint", "--force")
    assert code == 1


@pytest.mark.postgres
def test_truncate_as_superuser_is_caught(cases):
    one, two = cases
    write_checkpoint()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # CASCADE: the webhook deliveries refer to events (a superuser can do both)
        cursor.execute("TRUNCATE ledger_caseevent CASCADE")
    code, output = run_verify()
    assert code == 1
    for case in (one, two):
        assert f"{case.reference}: BROKEN" in output
    assert "the checkpoint vouches for" in output


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "DROP TRIGGER ledger_caseevent_append_only ON ledger_caseevent",
            "the append-only trigger ledger_caseevent_append_only on ledger_caseevent is missing",
        ),
        (
            "ALTER TABLE ledger_checkpoint DISABLE TRIGGER ledger_checkpoint_append_only",
            "the append-only trigger ledger_checkpoint_append_only on ledger_checkpoint is "
            "disabled",
        ),
    ],
)
def test_a_dropped_or_disabled_trigger_is_reported(statement, expected, cases):
    assert run_verify()[0] == 0
    with connection.cursor() as cursor:
        cursor.execute(statement)
    code, output = run_verify()
    assert code == 1 and expected in output
