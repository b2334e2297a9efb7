"""Publishing (with a lead's override before the asset is secured), closing,
and the legal hold that blocks closing. Every refusal leaves the case, its
records and its ledger exactly as they were."""

import pytest

from disclosure.cases import services
from disclosure.cases.stages import CloseReason, Stage
from disclosure.core.errors import LegalHoldActive, NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from tests.cases.helpers import JUSTIFICATION, kinds, state
from tests.factories import make_case

pytestmark = pytest.mark.django_db

S = Stage


# --- publish ------------------------------------------------------------------


def _publish(case, actor, **changes):
    kwargs = {
        "occurred_at": now(),
        "url": "https://firm.example/advisories/bluebleed",
        "title": "BlueBleed",
        **changes,
    }
    return services.publish(actor=actor, case=case, **kwargs)


def test_publish_before_secured_by_an_analyst_is_refused(analyst, lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(NotPermitted, match="lead's override"):
        _publish(case, analyst, override_justification=JUSTIFICATION)
    assert state(case) == before


@pytest.mark.parametrize("justification", ["", "   ", "too short, sorry", " " * 30 + "x" * 19])
def test_publish_before_secured_needs_a_written_justification(justification, lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="at least 20 characters") as exc:
        _publish(case, lead, override_justification=justification)
    assert exc.value.field == "override_justification"
    assert state(case) == before


def test_publish_before_secured_with_a_leads_override(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    n = len(kinds(case))
    case = _publish(case, lead, override_justification="x" * 20)
    assert case.stage == S.PUBLISHED
    override, stage = CaseEvent.objects.filter(case=case, seq__gt=n).order_by("seq")
    assert override.kind == EventKind.OVERRIDE_GRANTED
    assert override.payload == {
        "action": "publish",
        "stage": S.VENDOR_NOTIFIED,
        "justification": "x" * 20,
    }
    assert override.actor_id == lead.pk
    assert stage.kind == EventKind.STAGE_CHANGED
    assert stage.payload["override"] is True
    assert case.secured_at is None


def test_publish_after_secured_writes_no_override(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    case = _publish(case, lead, override_justification=JUSTIFICATION)
    assert case.publication_url == "https://firm.example/advisories/bluebleed"
    assert case.publication_title == "BlueBleed"
    assert EventKind.OVERRIDE_GRANTED not in kinds(case)
    assert CaseEvent.objects.filter(case=case).order_by("-seq")[0].payload["override"] is False


@pytest.mark.parametrize(
    "url",
    ["", "firm.example/advisory", "ftp://firm.example/a", "javascript:alert(1)", "https://"],
)
def test_publish_refuses_a_bad_url(url, lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="http") as exc:
        _publish(case, lead, url=url)
    assert exc.value.field == "url"
    assert state(case) == before


@pytest.mark.parametrize(
    "url",
    [
        "https://firm.example/advisory\r\nSet-Cookie: x=1",
        "https://firm.example/adv\nisory",
        "https://firm.example/\tadvisory",
        "https://firm.\x00example/",
        "https://firm.example/a\u202egnp.exe",
        "https://firm.example/a\u200bb",
        "https://firm.example/a b",
        "https://firm.example/\x85next",
    ],
)
def test_publish_refuses_control_and_invisible_characters_in_the_url(url, lead, vendor):
    """urlsplit drops CR, LF and tab before parsing, so such a URL passed the
    http(s) check and was stored raw (finding 15.14)."""
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed) as exc:
        _publish(case, lead, url=url)
    assert exc.value.field == "url"
    assert state(case) == before


def test_publish_refuses_a_missing_title(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="title"):
        _publish(case, lead, title="  ")
    assert state(case) == before


@pytest.mark.parametrize(
    "changes",
    [{"url": "https://firm.example/" + "a" * 1000}, {"title": "t" * 301}],
    ids=["url", "title"],
)
def test_publish_refuses_values_longer_than_their_column(changes, lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="too long") as exc:
        _publish(case, lead, **changes)
    assert exc.value.field == next(iter(changes))
    assert state(case) == before


def test_override_with_a_bad_url_writes_no_override_event(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="http"):
        _publish(case, lead, url="nope", override_justification=JUSTIFICATION)
    assert state(case) == before


# --- close ----------------------------------------------------------------------


def test_published_case_must_close_as_published(lead, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    before = state(case)
    for reason in (CloseReason.NOT_PUBLISHED, CloseReason.INVALID, CloseReason.DUPLICATE):
        with pytest.raises(ValidationFailed, match="closes with reason 'published'"):
            services.close_case(actor=lead, case=case, reason=reason, note="some note")
    assert state(case) == before
    case = services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert (case.stage, case.close_reason) == (S.CLOSED, CloseReason.PUBLISHED)


def test_unpublished_case_cannot_close_as_published(lead, vendor):
    case = make_case(S.DATA_DELETED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="Only a published case"):
        services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    with pytest.raises(ValidationFailed, match="Unknown close reason"):
        services.close_case(actor=lead, case=case, reason="bored")
    assert state(case) == before


@pytest.mark.parametrize(
    ("reason", "match"),
    [(CloseReason.NOT_PUBLISHED, "why the case is not published"), (CloseReason.DUPLICATE, "dup")],
)
def test_not_published_and_duplicate_need_a_note(reason, match, lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match=match) as exc:
        services.close_case(actor=lead, case=case, reason=reason, note="  ")
    assert exc.value.field == "note"
    assert state(case) == before
    case = services.close_case(actor=lead, case=case, reason=reason, note=" DSC-2026-0001 ")
    stage, note = CaseEvent.objects.filter(case=case).order_by("-seq")[:2][::-1]
    assert stage.payload == {
        "from": S.SECURED,
        "to": S.CLOSED,
        "milestone": S.CLOSED,
        "late": False,
        "reason": reason,
    }
    assert (note.kind, note.internal) == ("note_added", True)
    assert note.payload == {"about_seq": stage.seq, "note": "DSC-2026-0001"}


def test_invalid_needs_no_note(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    case = services.close_case(actor=lead, case=case, reason=CloseReason.INVALID)
    assert (case.stage, case.close_reason) == (S.CLOSED, CloseReason.INVALID)


def test_legal_hold_blocks_closing_until_lifted(lead, legal, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    case = services.set_legal_hold(actor=legal, case=case, on=True, reason="Vendor sued")
    before = state(case)
    with pytest.raises(LegalHoldActive, match="legal hold"):
        services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert state(case) == before
    services.set_legal_hold(actor=legal, case=case, on=False, reason="Settled")
    case = services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert case.stage == S.CLOSED


# --- legal hold -----------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["legal", "lead", "admin_user"])
def test_legal_hold_by_legal_lead_or_admin(fixture, request, analyst, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.FOUND, actor=analyst, vendor=vendor)
    case = services.set_legal_hold(actor=actor, case=case, on=True, reason=" Subpoena ")
    assert case.legal_hold is True
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert (event.kind, event.payload, event.actor_id) == (
        EventKind.LEGAL_HOLD_CHANGED,
        {"legal_hold": True, "reason": "Subpoena"},
        actor.pk,
    )


@pytest.mark.parametrize("fixture", ["analyst", "vendor_contact", "outsider"])
def test_legal_hold_refused_to_others(fixture, request, lead, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    # The outsider may not even know the case exists (404).
    expected = (NotFound, "No such") if fixture == "outsider" else (NotPermitted, "legal hold")
    with pytest.raises(expected[0], match=expected[1]):
        services.set_legal_hold(actor=actor, case=case, on=True, reason="x")
    assert state(case) == before


def test_legal_hold_needs_a_reason_and_a_change(legal, lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="Say why"):
        services.set_legal_hold(actor=legal, case=case, on=True, reason=" ")
    with pytest.raises(ValidationFailed, match="not under legal hold"):
        services.set_legal_hold(actor=legal, case=case, on=False, reason="lift")
    assert state(case) == before
    services.set_legal_hold(actor=legal, case=case, on=True, reason="hold")
    with pytest.raises(ValidationFailed, match="already under legal hold"):
        services.set_legal_hold(actor=legal, case=case, on=True, reason="hold again")


def test_legal_hold_checks_permission_before_input(analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    with pytest.raises(NotPermitted):
        services.set_legal_hold(actor=analyst, case=case, on=True, reason="")
