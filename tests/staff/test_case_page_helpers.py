"""The case page's small helpers: time, duration and size formatting, and
the one-line summary of each kind of event (expected text written out)."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.ledger.models import CaseEvent
from disclosure.staff.case_page import event_summary
from disclosure.staff.templatetags.case_page import case_time, duration, filesize, gap

AT = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "zone,text",
    [
        ("UTC", "2026-07-01 22:30 UTC"),
        (
            "Europe/Berlin",
            '2026-07-02 00:30 CEST <span class="utc">(2026-07-01 22:30 UTC)</span>',
        ),
        (
            "America/New_York",
            '2026-07-01 18:30 EDT <span class="utc">(2026-07-01 22:30 UTC)</span>',
        ),
        ("Not/AZone", "2026-07-01 22:30 UTC"),  # an unknown zone falls back to UTC
        ("", "2026-07-01 22:30 UTC"),
    ],
)
def test_case_time(zone, text):
    """In the case's zone with UTC beside; once for a case kept in UTC."""
    assert case_time(AT, zone) == (
        f'<time datetime="2026-07-01T22:30:00Z" class="case-time">{text}</time>'
    )


def test_case_time_of_nothing_is_a_dash():
    assert case_time(None, "UTC") == "—"


@pytest.mark.parametrize(
    "value,text",
    [
        (timedelta(0), "0 min"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=2), "2 h"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(days=3), "3 d"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
        (timedelta(hours=-25), "-1 d 1 h"),
        (None, ""),
    ],
)
def test_duration(value, text):
    assert duration(value) == text


def test_gap_says_earlier_for_a_milestone_before_the_previous_one():
    assert gap(timedelta(hours=1)) == "+1 h"
    assert gap(timedelta(hours=-26)) == "1 d 2 h earlier"
    assert gap(None) == ""


@pytest.mark.parametrize(
    "value,text",
    [
        (0, "0 bytes"),
        (999, "999 bytes"),
        (1, "1 byte"),
        (1024, "1.0 kB (1,024 bytes)"),
        (999_960, "1.0 MB (999,960 bytes)"),
        (24_529_338_368, "24.5 GB (24,529,338,368 bytes)"),
        (2_400_000_000_000, "2.4 TB (2,400,000,000,000 bytes)"),
        (None, ""),
    ],
)
def test_filesize(value, text):
    assert filesize(value) == text


SUMMARIES = [
    ("case_opened", {"stage": "found"}, "Opened at stage found."),
    ("stage_changed", {"milestone": "data_deleted"}, "Milestone: Data deleted."),
    ("stage_changed", {"milestone": "bogus"}, "Milestone: bogus."),
    (
        "override_granted",
        {"action": "publish", "justification": "Users must protect themselves."},
        "Override of publish: Users must protect themselves.",
    ),
    (
        "communication_logged",
        {"direction": "inbound", "channel": "email", "subject": "Fixed"},
        "inbound email Fixed",
    ),
    ("evidence_attached", {"name": "a.txt", "sha256": "ab" * 32}, "a.txt (SHA-256 abababababab…)"),
    (
        "deletion_attested",
        {"method": "purge", "items": 2, "total_bytes": 123456},
        "Method purge, 2 item(s), 123,456 bytes",
    ),
    ("attestation_countersigned", {"statement": "We confirm."}, "Countersigned: We confirm."),
    ("attestation_countersigned", {"statement": ""}, "Countersigned"),
    ("dispute_filed", {"subject": "Counts"}, "Disputed: Counts"),
    (
        "dispute_answered",
        {"dispute_id": 4, "answer": "We stand by it."},
        "Firm answered dispute #4",
    ),
    (
        "dispute_settled",
        {"dispute_id": 4, "outcome": "accepted", "reason": "Their count was right"},
        "Dispute #4 settled: accepted — Their count was right",
    ),
    ("dispute_settled", {"dispute_id": 4, "outcome": "withdrawn"}, "Dispute #4 settled: withdrawn"),
    ("legal_hold_changed", {"legal_hold": True, "reason": "Suit"}, "Legal hold on: Suit"),
    ("legal_hold_changed", {"legal_hold": False, "reason": "Over"}, "Legal hold lifted: Over"),
    ("details_updated", {"changes": {"title": [], "severity": []}}, "Changed: severity, title"),
    ("follow_up_opened", {"follow_up": "DSC-2026-0002"}, "Follow-up case DSC-2026-0002"),
    ("escalated", {"organization": "CERT-EU"}, "Escalated to CERT-EU"),
    ("note_added", {"note": "Call them."}, "Call them."),
    ("vendor_acknowledged", {"note": "Got it."}, "Got it."),
    ("internal_details", {"details": {"severity": 1, "assignee": 2}}, "Fields: assignee, severity"),
    ("correction", {"corrects_seq": 3}, ""),
    ("something_new", {}, ""),
]


@pytest.mark.parametrize("kind,payload,text", SUMMARIES)
def test_event_summary(kind, payload, text):
    assert event_summary(CaseEvent(kind=kind, payload=payload)) == text


def test_a_policy_terms_change_is_summarised_on_the_case_page():
    terms = {"days_to_acknowledge": 7, "days_to_secure": 90, "days_to_publish": 90,
             "grace_days": 14, "business_days": False}  # fmt: skip
    event = CaseEvent(
        kind="policy_terms_changed",
        payload={"policy": {"id": 1, "name": "Standard 90"}, "from": terms,
                 "to": {**terms, "business_days": True}, "changed": ["business_days"]},
    )  # fmt: skip
    assert event_summary(event) == "Terms of 'Standard 90': business days yes"
