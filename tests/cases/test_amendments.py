"""Changing a case after it is opened: its details, follow-ups for a
re-exposure, and which of these events (and their corrections) stay internal.
Every refusal leaves the case exactly as it was."""

from datetime import date, timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.core.errors import (
    EvidenceRequired,
    NotPermitted,
    TransitionNotAllowed,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import state
from tests.factories import VendorFactory, capture, make_case

pytestmark = pytest.mark.django_db

S = Stage


# --- update_details -------------------------------------------------------------


def test_update_details_records_from_and_to(lead, analyst, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    case = services.update_details(
        actor=lead,
        case=case,
        changes={
            "title": " Renamed ",
            "severity": "critical",
            "data_from": date(2017, 1, 1),
            "assignee": analyst,
            "summary": "",  # unchanged
        },
    )
    case.refresh_from_db()
    assert (case.title, case.severity, case.data_from) == ("Renamed", "critical", date(2017, 1, 1))
    shared, internal = CaseEvent.objects.filter(case=case).order_by("-seq")[:2][::-1]
    # What a vendor may see in one event, the firm's own business in an internal one.
    assert (shared.kind, shared.internal) == (EventKind.DETAILS_UPDATED, False)
    assert shared.payload["changes"] == {
        "title": {"from": "Exposed bucket", "to": "Renamed"},
        "data_from": {"from": None, "to": "2017-01-01"},
    }
    assert (internal.kind, internal.internal) == (EventKind.DETAILS_UPDATED, True)
    assert internal.payload["changes"] == {
        "severity": {"from": "medium", "to": "critical"},
        "assignee": {"from": None, "to": {"id": analyst.pk, "username": analyst.username}},
    }
    assert verify_case(case).ok


def test_update_details_without_a_change_writes_no_event(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    services.update_details(actor=lead, case=case, changes={"title": "Exposed bucket "})
    services.update_details(actor=lead, case=case, changes={})
    assert state(case) == before


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"reference": "DSC-1999-0001"}, "Unknown case field"),
        ({"stage": "closed"}, "Unknown case field"),
        ({"legal_hold": True}, "Unknown case field"),
        ({"severity": "extreme"}, "Unknown severity"),
        ({"asset_kind": "floppy"}, "Unknown asset kind"),
        ({"title": ""}, "title is required"),
        ({"data_from": date(2022, 2, 1), "data_to": date(2022, 1, 1)}, "ends before it starts"),
    ],
)
def test_update_details_refusals(changes, match, lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match=match):
        services.update_details(actor=lead, case=case, changes=changes)
    assert state(case) == before


def test_update_details_checks_one_end_of_the_range_against_the_other(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    services.update_details(actor=lead, case=case, changes={"data_to": date(2022, 1, 1)})
    before = state(case)
    with pytest.raises(ValidationFailed, match="ends before it starts"):
        services.update_details(actor=lead, case=case, changes={"data_from": date(2022, 6, 1)})
    assert state(case) == before


def test_vendor_may_change_before_notification_only(lead, vendor, other_vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    case = services.update_details(actor=lead, case=case, changes={"vendor": other_vendor})
    assert case.vendor == other_vendor
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.payload["changes"]["vendor"] == {
        "from": {"id": vendor.pk, "name": "Contoso"},
        "to": {"id": other_vendor.pk, "name": "Fabrikam"},
    }
    notified = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(notified)
    with pytest.raises(ValidationFailed, match="cannot change after it has been notified"):
        services.update_details(actor=lead, case=notified, changes={"vendor": VendorFactory()})
    # Naming the same vendor again is not a change.
    services.update_details(actor=lead, case=notified, changes={"vendor": vendor})
    assert state(notified) == before


@pytest.mark.parametrize("fixture", ["legal", "vendor_contact"])
def test_update_details_is_for_workers(fixture, request, lead, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(NotPermitted):
        services.update_details(actor=actor, case=case, changes={"title": "x"})
    assert state(case) == before


# --- follow-ups -----------------------------------------------------------------


def _follow_up(parent, actor, **kw):
    return services.open_follow_up(
        actor=actor,
        case=parent,
        found_at=kw.pop("found_at", now() - timedelta(hours=1)),
        how_found="Same container public again",
        exposure_evidence=kw.pop("exposure_evidence", [capture(b"listing, again\n")]),
        **kw,
    )


def test_follow_up_only_after_secured(lead, vendor):
    parent = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(parent)
    with pytest.raises(TransitionNotAllowed, match="re-exposure"):
        _follow_up(parent, lead)
    assert state(parent) == before
    assert Case.objects.count() == 1


def test_follow_up_links_both_cases(lead, vendor):
    parent = make_case(S.PUBLISHED, actor=lead, vendor=vendor, severity="high")
    follow_up = _follow_up(parent, lead)
    assert follow_up.follows_up == parent
    assert follow_up.stage == S.FOUND
    assert follow_up.vendor == parent.vendor
    assert follow_up.severity == "high"
    assert follow_up.asset_identifier == parent.asset_identifier
    assert follow_up.title == f"Re-exposure: {parent.title}"
    assert follow_up.reference != parent.reference
    assert list(parent.follow_ups.all()) == [follow_up]
    linked = CaseEvent.objects.filter(case=parent).order_by("-seq").first()
    assert linked.kind == EventKind.FOLLOW_UP_OPENED
    assert linked.payload == {"follow_up": follow_up.reference}
    opened = CaseEvent.objects.get(case=follow_up, seq=1)
    assert opened.payload["follows_up"] == {"id": parent.pk, "reference": parent.reference}
    assert verify_case(parent).ok and verify_case(follow_up).ok


def test_follow_up_without_exposure_evidence_writes_nothing(lead, vendor):
    parent = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(parent)
    with pytest.raises(EvidenceRequired):
        _follow_up(parent, lead, exposure_evidence=[])
    assert state(parent) == before
    assert Case.objects.count() == 1


def test_follow_up_can_reuse_the_parents_capture(lead, vendor):
    """Evidence is unique per case, not across cases: the same capture may open
    the follow-up."""
    parent = make_case(S.SECURED, actor=lead, vendor=vendor)
    follow_up = _follow_up(parent, lead, exposure_evidence=[capture()])
    assert EvidenceFile.objects.get(case=follow_up).sha256 == (
        EvidenceFile.objects.get(case=parent, kind=EvidenceKind.EXPOSURE_CAPTURE).sha256
    )


# --- what vendors may read of the ledger -------------------------------------


def test_holds_overrides_and_edits_are_internal_events(lead, analyst, vendor, vendor_contact):
    from disclosure.cases.selectors import events_for

    case = make_case(S.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation expected")
    services.update_details(actor=analyst, case=case, changes={"severity": "critical"})
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=now(),
        url="https://firm.example/a",
        title="Advisory",
        override_justification="The vendor stopped answering and users must act now.",
    )
    internal_kinds = {
        EventKind.LEGAL_HOLD_CHANGED,
        EventKind.DETAILS_UPDATED,
        EventKind.OVERRIDE_GRANTED,
    }
    events = CaseEvent.objects.filter(case=case)
    assert all(e.internal for e in events if e.kind in internal_kinds)
    seen_by_vendor = {e.kind for e in events_for(vendor_contact, case)}
    assert not seen_by_vendor & internal_kinds
    assert EventKind.STAGE_CHANGED in seen_by_vendor
    assert {e.kind for e in events_for(lead, case)} >= internal_kinds


def test_a_correction_is_as_internal_as_the_event_it_corrects(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation expected")
    hold = CaseEvent.objects.get(case=case, kind=EventKind.LEGAL_HOLD_CHANGED)
    notified = CaseEvent.objects.filter(case=case, kind=EventKind.STAGE_CHANGED).last()
    internal = services.correct_event(
        actor=analyst, case=case, seq=hold.seq, reason="Wrong matter", statement="Matter 12, not 21"
    )
    public = services.correct_event(
        actor=analyst,
        case=case,
        seq=notified.seq,
        reason="Typo",
        statement="The notice went to PSIRT",
    )
    assert internal.internal and not public.internal
