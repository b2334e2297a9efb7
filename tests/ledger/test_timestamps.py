"""Trusted time for checkpoints: RFC 3161 tokens from a real TSA (OpenSSL's
``ts -reply`` on 127.0.0.1, tests/tsa.py), checked by verify_ledger; a TSA
that is down delays a token, never a checkpoint or an append."""

import logging
from datetime import timedelta

import pytest
from asn1crypto import cms
from django.core.management.base import CommandError

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger.checkpoints import anchor_path, write_checkpoint
from disclosure.ledger.models import CheckpointTimestamp
from disclosure.ledger.tasks import timestamp_checkpoints_task
from disclosure.ledger.timestamps import token_path
from tests.factories import inbound_kwargs, make_case
from tests.ledger.tampering import run_command, run_verify, sql
from tests.tsa import free_port_url, make_tsa_material

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def checkpoint(capture):
    with capture(execute=True):
        return write_checkpoint(force=True).checkpoint


def tst_info(token: bytes):
    return cms.ContentInfo.load(token)["content"]["encap_content_info"]["content"].parsed


def test_a_checkpoint_gets_a_token_over_its_hash_in_the_database_and_the_anchor(
    case, tsa, django_capture_on_commit_callbacks
):
    asked = len(tsa.requests)
    cp = checkpoint(django_capture_on_commit_callbacks)
    stamp = CheckpointTimestamp.objects.get(checkpoint=cp)
    token = bytes(stamp.token)
    info = tst_info(token)
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["message_imprint"]["hashed_message"].native == bytes.fromhex(cp.hash)
    assert info["policy"].dotted == "1.3.6.1.4.1.99999.3161.1"  # the test TSA's policy
    assert abs(stamp.gen_time - now()) < timedelta(minutes=1)
    assert stamp.gen_time == info["gen_time"].native
    assert stamp.tsa_url == tsa.url
    assert len(tsa.requests) == asked + 1
    assert token_path(cp.seq).read_bytes() == token
    assert token_path(cp.seq).name == "checkpoint-00000001.tsr"
    assert anchor_path(cp.seq).exists()


def test_verify_ledger_checks_the_token_and_prints_the_trusted_time(
    case, tsa, django_capture_on_commit_callbacks
):
    cp = checkpoint(django_capture_on_commit_callbacks)
    when = CheckpointTimestamp.objects.get(checkpoint=cp).gen_time
    code, out = run_verify()
    assert code == 0, out
    assert (
        f"checkpoint #1: trusted time {when:%Y-%m-%d %H:%M:%S} UTC (RFC 3161, Common Name: "
        "Test Time-Stamping Authority, Organization: Test TSA; chains to the trusted TSA CA)"
    ) in out


def test_verify_ledger_prints_the_trusted_time_of_a_checkpoint_file(
    case, tsa, django_capture_on_commit_callbacks
):
    cp = checkpoint(django_capture_on_commit_callbacks)
    code, out = run_verify("--checkpoint", str(anchor_path(cp.seq)))
    assert code == 0, out
    assert "checkpoint-00000001.json: trusted time " in out


def _flip_gen_time(token: bytes) -> bytes:
    """The token with its time moved back ten years (still DER; its
    signature no longer covers it)."""
    stamped = tst_info(token)["gen_time"].contents
    forged = stamped.replace(stamped[:4], str(int(stamped[:4]) - 10).encode(), 1)
    return token.replace(stamped, forged, 1)


def test_a_tampered_token_is_rejected(case, tsa, django_capture_on_commit_callbacks):
    cp = checkpoint(django_capture_on_commit_callbacks)
    stamp = CheckpointTimestamp.objects.get(checkpoint=cp)
    sql(
        "UPDATE ledger_checkpointtimestamp SET token = %s WHERE id = %s",
        [_flip_gen_time(bytes(stamp.token)), stamp.pk],
    )
    code, out = run_verify()
    assert code == 1
    assert (
        "LEDGER: checkpoint #1: its RFC 3161 timestamp: the token's signature by Common Name: "
        "Test Time-Stamping Authority, Organization: Test TSA does not verify"
    ) in out
    assert "trusted time" not in out


def test_a_token_over_another_checkpoint_is_rejected(
    case, analyst, tsa, django_capture_on_commit_callbacks
):
    first = checkpoint(django_capture_on_commit_callbacks)
    services.log_communication(actor=analyst, case=case, **inbound_kwargs(now()))
    second = checkpoint(django_capture_on_commit_callbacks)
    other = bytes(CheckpointTimestamp.objects.get(checkpoint=first).token)
    sql(
        "UPDATE ledger_checkpointtimestamp SET token = %s WHERE checkpoint_id = %s",
        [other, second.pk],
    )
    code, out = run_verify()
    assert code == 1
    assert (
        "LEDGER: checkpoint #2: its RFC 3161 timestamp: the token is over another hash "
        "(imprint mismatch)"
    ) in out


def test_a_tsa_outside_the_trusted_ca_is_rejected(
    case, tsa, settings, tmp_path, django_capture_on_commit_callbacks
):
    checkpoint(django_capture_on_commit_callbacks)
    make_tsa_material(tmp_path / "other-tsa")
    settings.DISCLOSURE_TSA_TRUST = str(tmp_path / "other-tsa" / "ca-cert.pem")
    code, out = run_verify()
    assert code == 1
    assert (
        "LEDGER: checkpoint #1: its RFC 3161 timestamp: the TSA Common Name: Test "
        "Time-Stamping Authority, Organization: Test TSA does not chain to the trusted TSA CA"
    ) in out


def test_without_a_trusted_ca_the_time_is_printed_as_not_anchored(
    case, tsa, settings, django_capture_on_commit_callbacks
):
    checkpoint(django_capture_on_commit_callbacks)
    settings.DISCLOSURE_TSA_TRUST = ""
    code, out = run_verify()
    assert code == 0, out
    assert "Organization: Test TSA; TSA not anchored)" in out


def test_a_tsa_that_is_down_delays_the_token_and_beat_adds_it_later(
    case, analyst, tsa, settings, caplog, django_capture_on_commit_callbacks
):
    settings.DISCLOSURE_TSA_URL = free_port_url()
    with caplog.at_level(logging.WARNING, logger="disclosure.ledger.timestamps"):
        cp = checkpoint(django_capture_on_commit_callbacks)
    assert cp.seq == 1 and anchor_path(1).exists()  # the checkpoint is written all the same
    assert not CheckpointTimestamp.objects.exists()
    assert not token_path(1).exists()
    assert "checkpoint #1 has no RFC 3161 timestamp yet" in caplog.text
    # Appends go on.
    event = services.log_communication(actor=analyst, case=case, **inbound_kwargs(now()))
    assert event is not None
    code, out = run_verify()
    assert code == 0, out
    assert "1 checkpoints have no RFC 3161 timestamp yet" in out

    still_down = timestamp_checkpoints_task()
    assert still_down["stamped"] == [] and still_down["missing"] == 1
    assert still_down["error"].startswith(
        "checkpoint #1: ClientConnectorError: Cannot connect to host 127.0.0.1:"
    )
    settings.DISCLOSURE_TSA_URL = tsa.url  # the TSA is back
    assert timestamp_checkpoints_task() == {"stamped": [1], "missing": 0, "error": ""}
    stamp = CheckpointTimestamp.objects.get(checkpoint=cp)
    assert tst_info(bytes(stamp.token))["message_imprint"]["hashed_message"].native == (
        bytes.fromhex(cp.hash)
    )
    assert token_path(1).read_bytes() == bytes(stamp.token)
    code, out = run_verify()
    assert code == 0, out
    assert "checkpoint #1: trusted time " in out
    assert "have no RFC 3161 timestamp yet" not in out


def test_ledger_timestamp_command_stamps_what_is_missing(
    case, tsa, settings, django_capture_on_commit_callbacks
):
    settings.DISCLOSURE_TSA_URL = free_port_url()
    checkpoint(django_capture_on_commit_callbacks)
    code, out = run_command("ledger_timestamp")
    assert code == 1
    assert "checkpoint #1: ClientConnectorError: Cannot connect to host 127.0.0.1:" in out
    assert "1 checkpoints still waiting" in out
    settings.DISCLOSURE_TSA_URL = tsa.url
    code, out = run_command("ledger_timestamp")
    assert code == 0
    assert "checkpoint #1: timestamped" in out
    assert "1 checkpoints timestamped, none waiting" in out


def test_ledger_timestamp_command_needs_a_tsa(db):
    with pytest.raises(CommandError, match="DISCLOSURE_TSA_URL is not set"):
        run_command("ledger_timestamp")


def test_without_a_tsa_nothing_is_asked_and_nothing_is_printed(
    case, django_capture_on_commit_callbacks
):
    cp = checkpoint(django_capture_on_commit_callbacks)
    assert cp is not None and not CheckpointTimestamp.objects.exists()
    assert timestamp_checkpoints_task() == {"stamped": [], "missing": 0, "error": ""}
    code, out = run_verify()
    assert code == 0 and "trusted time" not in out and "RFC 3161" not in out


@pytest.mark.postgres
def test_timestamps_are_append_only_and_their_guard_is_checked(
    case, tsa, django_capture_on_commit_callbacks
):
    from django.db import DatabaseError, connection, transaction

    cp = checkpoint(django_capture_on_commit_callbacks)
    stamp = CheckpointTimestamp.objects.get(checkpoint=cp)
    for statement in (
        "UPDATE ledger_checkpointtimestamp SET tsa_url = 'x'",
        "DELETE FROM ledger_checkpointtimestamp",
    ):
        with (
            pytest.raises(DatabaseError, match="ledger_checkpointtimestamp is append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert CheckpointTimestamp.objects.get(pk=stamp.pk).tsa_url == tsa.url
    sql("SET CONSTRAINTS ALL IMMEDIATE")
    sql(
        "ALTER TABLE ledger_checkpointtimestamp "
        "DISABLE TRIGGER ledger_checkpointtimestamp_append_only"
    )
    code, out = run_verify()
    assert code == 1
    assert (
        "the append-only trigger ledger_checkpointtimestamp_append_only on "
        "ledger_checkpointtimestamp is disabled"
    ) in out
