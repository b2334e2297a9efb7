"""The export bundle: the contract of the attached JSON, both variants."""

import pytest

from disclosure.cases.visibility import VENDOR_DETAIL_FIELDS, VENDOR_EVENT_KEYS
from disclosure.core.canonical import canonical_json
from disclosure.core.hashing import ZERO_HASH, sha256_hex
from disclosure.core.timeutils import now
from disclosure.exports import services
from disclosure.exports.bundle import _vendor_event, build_bundle
from disclosure.ledger import merkle
from disclosure.ledger.checkpoints import leaf
from tests.exports.rich_case import *  # noqa: F403
from tests.exports.rich_case import ESCALATION_ORG, INTERNAL_NOTE


def _bundle(case, variant="full", communications="full"):
    case.refresh_from_db()
    cp = services._covering_checkpoint(case)
    return build_bundle(
        case=case,
        variant=variant,
        communications=communications,
        generated_at=now(),
        checkpoint=cp,
    )


def _recompute(events):
    prev = ZERO_HASH
    for i, e in enumerate(events, start=1):
        assert e["seq"] == i
        assert e["prev_hash"] == prev
        if not e.get("withheld") and not e.get("projected"):
            body = {k: v for k, v in e.items() if k != "hash"}
            assert sha256_hex(prev.encode() + canonical_json(body)) == e["hash"]
        prev = e["hash"]
    return prev


@pytest.mark.django_db
def test_full_bundle_holds_the_whole_chain_records_and_a_covering_checkpoint(rich_case):
    b = _bundle(rich_case)
    assert b["format"] == "disclosure-export" and b["v"] == 1 and b["variant"] == "full"
    assert b["generated_at"].endswith("Z") and "." in b["generated_at"]
    assert len(b["events"]) == rich_case.ledger_seq
    assert all("withheld" not in e and "projected" not in e for e in b["events"])
    assert _recompute(b["events"]) == rich_case.ledger_head == b["chain"]["head"]
    assert b["chain"]["seq"] == rich_case.ledger_seq
    # Records.
    r = b["records"]
    assert [c["body"] for c in r["communications"]][-1] == INTERNAL_NOTE
    assert len(r["evidence"]) == rich_case.evidence.count()
    assert r["attestation"]["countersignature_statement"] == "Contoso confirms the deletion."
    assert r["disputes"][0]["vendor_position"] == "Fewer than 111 entities"
    assert r["escalations"][0]["organization"] == ESCALATION_ORG
    # Stage table: the corrected secured time is beside the milestone.
    secured = next(s for s in b["case"]["stages"] if s["stage"] == "secured")
    assert secured["corrections"][0]["reason"] == "The re-test ran earlier"
    assert secured["occurred_at"] == secured["corrections"][0]["to"]
    assert b["case"]["how_found"] == "Scanner hit"
    # Checkpoint and proof: the fresh export's checkpoint is at the chain's head.
    cp = b["checkpoint"]
    assert "entries" not in cp and cp["format"] == "disclosure-ledger-checkpoint"
    proof = b["inclusion_proof"]
    assert proof["entry"] == [rich_case.reference, b["chain"]["seq"], b["chain"]["head"]]
    assert merkle.verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        leaf(*proof["entry"]),
        [bytes.fromhex(h) for h in proof["path"]],
        bytes.fromhex(cp["checkpoint"]["root"]),
    )


@pytest.mark.django_db
def test_vendor_bundle_holds_only_what_visibility_declares(rich_case):
    b = _bundle(rich_case, variant="vendor")
    text = canonical_json(b).decode()
    assert INTERNAL_NOTE not in text
    assert ESCALATION_ORG not in text
    assert "Scanner hit" not in text  # how_found is internal
    assert "how_found" not in b["case"] and "assignee" not in b["case"]
    assert "time_zone" not in b["case"]
    assert b["records"]["escalations"] == []
    assert all(c["direction"] != "internal" for c in b["records"]["communications"])
    kinds = {}
    for e in b["events"]:
        kinds.setdefault(
            "withheld" if e.get("withheld") else "projected" if e.get("projected") else "full", []
        ).append(e)
    # Internal events (the note, the escalation, the export request) are withheld:
    # seq, prev_hash and hash only.
    assert kinds["withheld"]
    assert all(set(e) == {"seq", "prev_hash", "hash", "withheld"} for e in kinds["withheld"])
    # Every shown event carries only the payload keys declared for its kind.
    for e in kinds.get("full", []) + kinds.get("projected", []):
        assert set(e["payload"]) <= VENDOR_EVENT_KEYS[e["kind"]]
        assert not e.get("internal")
    assert set(b["events"][0]["payload"]["details"]) <= set(VENDOR_DETAIL_FIELDS)
    # The chain still links through every entry and the complete ones verify.
    assert _recompute(b["events"]) == rich_case.ledger_head


@pytest.mark.django_db
def test_excerpts_shorten_long_bodies_and_keep_their_hash(rich_case, lead):
    services_case = rich_case
    from disclosure.cases import services as case_services
    from tests.factories import inbound_kwargs

    long_body = "x" * 5000
    case_services.log_communication(
        actor=lead, case=services_case, **inbound_kwargs(now(), body=long_body)
    )
    b = _bundle(services_case, communications="excerpt")
    c = b["records"]["communications"][-1]
    assert c["body_excerpt"] is True and c["body_chars"] == 5000
    assert len(c["body"]) < 500
    assert c["body_sha256"] == sha256_hex(long_body.encode())


def test_a_visible_event_with_undeclared_payload_keys_is_projected_and_an_internal_one_withheld():
    full = {
        "v": 1, "case": "DSC-1", "seq": 3, "kind": "vendor_acknowledged",
        "occurred_at": "2022-09-24T08:00:00.000000Z", "recorded_at": "2022-09-24T08:00:00.000000Z",
        "actor": CONTACT, "payload": {"note": "ok", "secret": "x"}, "internal": False,
        "state": "s" * 64, "prev_hash": "p" * 64, "hash": "h" * 64,
    }  # fmt: skip
    projected = _vendor_event(full)
    assert projected["projected"] is True and projected["payload"] == {"note": "ok"}
    assert set(projected) == {
        "seq", "kind", "occurred_at", "recorded_at", "actor", "payload", "prev_hash", "hash",
        "projected",
    }  # fmt: skip
    assert _vendor_event({**full, "payload": {"note": "ok"}}) == {**full, "payload": {"note": "ok"}}
    assert _vendor_event({**full, "internal": True}) == {
        "seq": 3, "prev_hash": "p" * 64, "hash": "h" * 64, "withheld": True,
    }  # fmt: skip
    assert _vendor_event({**full, "kind": "note_added"})["withheld"] is True


CONTACT = {"id": 7, "username": "alex", "name": "Alex Chen", "organization": "Contoso",
           "role": "vendor_contact"}  # fmt: skip
ANALYST = {"id": 2, "username": "sokafor", "name": "Sam Okafor", "organization": "Research Firm",
           "role": "analyst"}  # fmt: skip


def test_a_firm_member_acting_is_projected_as_the_firm():
    """Issue 15, finding 11: the vendor export masked nothing of the firm's
    people (name, username, role) that the portal and the API mask."""
    full = {
        "v": 1, "case": "DSC-1", "seq": 2, "kind": "vendor_acknowledged",
        "occurred_at": "2022-09-24T08:00:00.000000Z", "recorded_at": "2022-09-24T08:00:00.000000Z",
        "actor": ANALYST, "payload": {"note": "ok"}, "internal": False,
        "state": "s" * 64, "prev_hash": "p" * 64, "hash": "h" * 64,
    }  # fmt: skip
    assert _vendor_event(full) == {
        "seq": 2, "kind": "vendor_acknowledged", "occurred_at": "2022-09-24T08:00:00.000000Z",
        "recorded_at": "2022-09-24T08:00:00.000000Z", "prev_hash": "p" * 64, "hash": "h" * 64,
        "actor": {"id": None, "username": "", "name": "Research Firm",
                  "organization": "Research Firm", "role": None},
        "payload": {"note": "ok"}, "projected": True,
    }  # fmt: skip


def test_events_before_a_change_of_vendor_and_unseen_follow_ups_are_withheld():
    full = {
        "v": 1, "case": "DSC-1", "seq": 4, "kind": "follow_up_opened",
        "occurred_at": "2022-09-24T08:00:00.000000Z", "recorded_at": "2022-09-24T08:00:00.000000Z",
        "actor": CONTACT, "payload": {"follow_up": "DSC-2"}, "internal": False,
        "state": "s" * 64, "prev_hash": "p" * 64, "hash": "h" * 64,
    }  # fmt: skip
    withheld = {"seq": 4, "prev_hash": "p" * 64, "hash": "h" * 64, "withheld": True}
    assert _vendor_event(full) == full
    assert _vendor_event(full, linked_visible=False) == withheld
    assert _vendor_event(full, vendor_since=4) == withheld
    assert _vendor_event(full, vendor_since=3) == full


@pytest.mark.django_db
def test_both_variants_carry_what_the_other_data_is(rich_case, lead):
    from disclosure.cases import services as case_services

    case_services.update_details(
        actor=lead,
        case=rich_case,
        changes={"data_categories": ["invoices", "other"], "data_categories_other": "Firmware"},
    )
    for variant in ("full", "vendor"):
        case = _bundle(rich_case, variant=variant)["case"]
        assert (case["data_categories"], case["data_categories_other"]) == (
            ["invoices", "other"],
            "Firmware",
        ), variant
