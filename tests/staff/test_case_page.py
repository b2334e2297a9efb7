"""The staff case page: who may open it, and the facts it shows at each
stage (header, stage bar, deadlines, the actions offered), written out by
hand. Times are shown in the case's time zone (Europe/Berlin here) with UTC
in the title attribute."""

from datetime import UTC, datetime, timedelta
from types import ModuleType

import pytest
from django.urls import Resolver404, path, resolve

from disclosure.cases import services
from disclosure.staff import urls as staff_urls
from tests.cases.helpers import JUSTIFICATION
from tests.factories import advance, make_case

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # found; each later stage one hour on
RECORDED = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)  # the ledger's clock in these tests


@pytest.fixture(autouse=True)
def ledger_clock(monkeypatch):
    """Every event is recorded at RECORDED, so recorded times can be written out."""
    monkeypatch.setattr("disclosure.ledger.services.now", lambda: RECORDED)


def berlin_case(stage, *, analyst, lead, vendor, **kwargs):
    return make_case(
        stage,
        actor=analyst,
        lead=lead,
        vendor=vendor,
        start=START,
        time_zone="Europe/Berlin",
        title="Open blob container",
        **kwargs,
    )


def t(utc: str, local: str) -> str:
    """The HTML of a time: in the case's zone, UTC beside (core.formatting)."""
    return (
        f'<time datetime="{utc.replace(" ", "T")}:00Z" class="case-time">{local} '
        f'<span class="utc">({utc} UTC)</span></time>'
    )


# --- who may open the page ---------------------------------------------------

ACCESS = [
    # (who, status)
    ("anonymous", 302),
    ("vendor_contact", 404),  # the case's own vendor: the staff UI does not exist for them
    ("other_vendor_contact", 404),
    ("outsider", 404),
    ("analyst", 200),
    ("lead", 200),
    ("legal", 200),
    ("admin_user", 200),
]


@pytest.mark.parametrize("who,status", ACCESS)
def test_access_matrix(who, status, client, request, analyst, lead, vendor):
    case = berlin_case("vendor_notified", analyst=analyst, lead=lead, vendor=vendor)
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get(f"/cases/{case.reference}/")
    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"] == f"/login/?next=/cases/{case.reference}/"


def test_unknown_reference_is_404(client, analyst):
    client.force_login(analyst)
    assert client.get("/cases/DSC-2026-9999/").status_code == 404
    assert client.get("/cases/not-a-reference/").status_code == 404


def test_cases_new_is_not_taken_for_a_reference():
    try:
        match = resolve("/cases/new/")
    except Resolver404:
        return
    assert match.url_name != "case_detail"


def test_absolute_url_resolves_to_the_case_page(analyst, lead, vendor):
    case = berlin_case("found", analyst=analyst, lead=lead, vendor=vendor)
    assert resolve(case.get_absolute_url()).view_name == "staff:case_detail"


# --- the header --------------------------------------------------------------


def test_header_shows_the_case_facts(client, analyst, lead, vendor):
    lead.first_name, lead.last_name = "Lena", "Lead"
    lead.save()
    case = berlin_case(
        "vendor_notified",
        analyst=analyst,
        lead=lead,
        vendor=vendor,
        assignee=lead,
        severity="critical",
        tlp="red",
    )
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/").content.decode()
    assert f'<span class="case-reference">{case.reference}</span> Open blob container' in html
    assert "Contoso · S3 bucket at Amazon Web Services" in html
    assert "<dt>Stage</dt><dd><strong>Vendor notified</strong></dd>" in html
    assert '<span class="severity severity-critical">Critical</span>' in html
    assert '<span class="tlp tlp-red">TLP:RED</span>' in html
    assert "<dt>Assignee</dt><dd>Lena Lead</dd>" in html
    assert "<dt>Time zone</dt><dd>Europe/Berlin</dd>" in html
    assert "On legal hold" not in html

    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation expected.")
    html = client.get(f"/cases/{case.reference}/").content.decode()
    assert '<mark class="legal-hold">On legal hold</mark>' in html


# --- the stage bar at each stage ----------------------------------------------

F, N, S, D, P, C = "found", "vendor_notified", "secured", "data_deleted", "published", "closed"
# Milestone times (UTC, Berlin) and the seq of the event that recorded each,
# for a case walked by make_case: found #1, notified #5 (after its notice #4),
# secured #6, deleted #8 (after the attestation #7), published #9, closed #10.
OCCURRED = {
    F: ("2026-01-05 09:00", "2026-01-05 10:00 CET", 1),
    N: ("2026-01-05 10:00", "2026-01-05 11:00 CET", 5),
    S: ("2026-01-05 11:00", "2026-01-05 12:00 CET", 6),
    D: ("2026-01-05 12:00", "2026-01-05 13:00 CET", 8),
    P: ("2026-01-05 13:00", "2026-01-05 14:00 CET", 9),
    C: ("2026-01-05 14:00", "2026-01-05 15:00 CET", 10),
}
# Stage of the case -> the state of each of the six steps.
STATES = {
    F: ["current", "pending", "pending", "pending", "pending", "pending"],
    N: ["done", "current", "pending", "pending", "pending", "pending"],
    S: ["done", "done", "current", "pending", "pending", "pending"],
    D: ["done", "done", "done", "current", "pending", "pending"],
    P: ["done", "done", "done", "done", "current", "pending"],
    C: ["done", "done", "done", "done", "done", "current"],
}
ORDER = [F, N, S, D, P, C]


@pytest.mark.parametrize("stage", ORDER)
def test_stage_bar_at_each_stage(stage, client, analyst, lead, vendor):
    case = berlin_case(stage, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/")
    steps = response.context["stages"]
    reached = ORDER[: ORDER.index(stage) + 1]
    assert [s.state for s in steps] == STATES[stage]
    assert [(s.seq, s.late, s.override_seq) for s in steps] == [
        (OCCURRED[x][2] if x in reached else None, False, None) for x in ORDER
    ]
    assert [s.recorded_at for s in steps] == [RECORDED if x in reached else None for x in ORDER]
    gaps = [s.since_previous for s in steps]
    assert gaps == [None] + [timedelta(hours=1) if x in reached else None for x in ORDER[1:]]
    html = response.content.decode()
    for x in reached:
        utc, local, seq = OCCURRED[x]
        assert t(utc, local) in html
        # a link to the event on the timeline tab's first page (under 50 events)
        timeline = f"/cases/{case.reference}/timeline/?page=1#event-{seq}"
        assert f'<a href="{timeline}">#{seq}</a>' in html
    assert t("2026-02-01 12:00", "2026-02-01 13:00 CET") in html  # recorded
    gap = '<span class="stage-gap" title="Time since the previous stage">+1 h</span>'
    assert html.count(gap) == len(reached) - 1
    assert html.count('aria-current="step"') == 1
    assert "Recorded late" not in html and "Override #" not in html


def test_late_milestone_and_override_are_marked(client, analyst, lead, vendor):
    case = berlin_case("vendor_notified", analyst=lead, lead=lead, vendor=vendor)
    case = advance(
        case, P, actor=lead, at=START + timedelta(hours=2), justification=JUSTIFICATION
    )  # override_granted #6, published #7
    case = services.secure(
        actor=analyst,
        case=case,
        occurred_at=START + timedelta(hours=3),
        retest_result="403 on anonymous listing",
    )  # #8, late
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/")
    steps = {s.stage: s for s in response.context["stages"]}
    assert (steps[S].state, steps[S].seq, steps[S].late) == ("done", 8, True)
    assert (steps[P].state, steps[P].seq, steps[P].override_seq) == ("current", 7, 6)
    assert (steps[D].state, steps[D].seq) == ("skipped", None)
    assert steps[S].since_previous == timedelta(hours=2)  # from the notification
    assert steps[P].since_previous == timedelta(hours=-1)  # before the late securing
    html = response.content.decode()
    assert '<mark class="badge badge-override">Override #6</mark>' in html
    assert html.count('<mark class="badge badge-late">Recorded late</mark>') == 2  # bar, timeline
    assert "Published with an override" in html
    assert ">+2 h</span>" in html and ">1 h earlier</span>" in html
    assert "Not recorded yet" in html  # data deleted, skipped by the early publication
    assert "Override of publish: " + JUSTIFICATION in html  # the internal override event


def test_corrections_are_shown_beside_what_they_correct(client, analyst, lead, vendor):
    case = berlin_case("vendor_notified", analyst=analyst, lead=lead, vendor=vendor)
    services.correct_event(
        actor=analyst,
        case=case,
        seq=5,
        reason="The notice went out an hour later.",
        occurred_at=START + timedelta(hours=2),
    )  # #6
    services.correct_event(
        actor=analyst, case=case, seq=4, reason="Wrong subject.", statement="It was 'Exposure'."
    )  # #7
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/")
    entries = {e.event.seq: e for e in response.context["timeline"].entries}
    assert [c.seq for c in entries[5].corrected_by] == [6]
    assert [c.seq for c in entries[4].corrected_by] == [7]
    assert (entries[6].corrects.seq, entries[7].corrects.seq) == (5, 4)
    assert entries[6].corrects.href == "?page=1&size=50#event-5"
    assert entries[1].corrected_by == () and entries[1].corrects is None
    html = response.content.decode()
    assert 'Corrected by <a href="?page=1&amp;size=50#event-6">#6</a>' in html
    assert 'Corrects <a href="?page=1&amp;size=50#event-5">#5</a>: The notice went out' in html
    assert 'Corrects <a href="?page=1&amp;size=50#event-4">#4</a>: Wrong subject.. It was' in html
    # The stage bar shows the corrected time and the correction.
    steps = {s.stage: s for s in response.context["stages"]}
    assert steps[N].occurred_at == START + timedelta(hours=2)
    assert steps[N].corrected_by == (6,)
    assert t("2026-01-05 11:00", "2026-01-05 12:00 CET") in html
    assert '<mark class="badge badge-corrected">Corrected by #6</mark>' in html


# --- deadlines ----------------------------------------------------------------


def test_no_deadlines_before_the_notification(client, analyst, lead, vendor):
    case = berlin_case(F, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/")
    assert response.context["deadlines"] is None
    assert "The deadlines of policy <strong>Standard 90</strong> start when" in (
        response.content.decode()
    )


def test_deadlines_of_a_notified_case(client, analyst, lead, vendor):
    # Standard 90 from the notification at 2026-01-05 10:00 UTC: acknowledge
    # in 7 days, secure and publish in 90, 14 days of grace.
    case = berlin_case(N, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/")
    d = response.context["deadlines"]
    assert [(r.key, r.due, r.met_at, r.status) for r in d.rows] == [
        ("acknowledge", datetime(2026, 1, 12, 10, tzinfo=UTC), None, "overdue"),
        ("secure", datetime(2026, 4, 5, 10, tzinfo=UTC), None, "overdue"),
        ("publish", datetime(2026, 4, 5, 10, tzinfo=UTC), None, "overdue"),
    ]
    assert d.publish_with_grace == datetime(2026, 4, 19, 10, tzinfo=UTC)
    assert d.next_due.key == "acknowledge" and d.unresponsive is True
    html = response.content.decode()
    assert "Vendor unresponsive" in html
    assert (
        "Next due: <strong>Vendor acknowledges</strong> by "
        + t("2026-01-12 10:00", "2026-01-12 11:00 CET")
        + ' <mark class="badge badge-overdue">Overdue</mark>'
    ) in html
    assert "with grace: " + t("2026-04-19 10:00", "2026-04-19 12:00 CEST") in html


def test_deadlines_met_on_time_and_late(client, analyst, lead, vendor):
    case = berlin_case(S, analyst=analyst, lead=lead, vendor=vendor)
    services.acknowledge(actor=analyst, case=case, occurred_at=datetime(2026, 1, 20, tzinfo=UTC))
    client.force_login(analyst)
    d = client.get(f"/cases/{case.reference}/").context["deadlines"]
    assert [(r.key, r.status) for r in d.rows] == [
        ("acknowledge", "met late"),
        ("secure", "met"),
        ("publish", "overdue"),
    ]
    assert d.next_due.key == "publish"
    assert d.unresponsive is False  # at now: the acknowledgement has come


def test_nothing_is_due_on_a_closed_case(client, analyst, lead, vendor):
    case = berlin_case(C, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(analyst)
    response = client.get(f"/cases/{case.reference}/")
    d = response.context["deadlines"]
    assert d.next_due is None
    assert [(r.key, r.status) for r in d.rows] == [
        ("acknowledge", "not met"),  # never acknowledged, but nothing is overdue any more
        ("secure", "met"),
        ("publish", "met"),
    ]
    html = response.content.decode()
    assert "Nothing is due." in html and "Overdue" not in html


# --- what you can do ----------------------------------------------------------

# Labels of access.available_actions on a secured case, by role (table order).
ACTIONS_ON_SECURED = {
    "analyst": [
        "Record deletion of our copies", "Record publication", "Record vendor acknowledgement",
        "Log a communication", "Write to the vendor", "Attach evidence", "File a dispute",
        "Correct an earlier event", "Edit case details", "Open a follow-up case (re-exposure)",
    ],
    "lead": [
        "Record deletion of our copies", "Record publication", "Close case",
        "Record vendor acknowledgement", "Log a communication", "Write to the vendor",
        "Attach evidence",
        "File a dispute", "Correct an earlier event", "Set or lift legal hold",
        "Escalate to a third party", "Edit case details", "Open a follow-up case (re-exposure)",
    ],
    "legal": ["Set or lift legal hold"],
}  # fmt: skip


def _urlconf(with_action_route: bool) -> ModuleType:
    """The site's staff URLs, with or without the action forms' route."""
    from django.urls import include

    patterns = [p for p in staff_urls.urlpatterns if getattr(p, "name", "") != "case_action"]
    if with_action_route:
        patterns.append(
            path(
                "cases/<caseref:reference>/actions/<str:action>/",
                lambda request, **kw: None,
                name="case_action",
            )
        )
    from disclosure import urls as site_urls

    # The site's other routes (the case page's panels link probes, retention, ...).
    others = [p for p in site_urls.urlpatterns if getattr(p, "namespace", None) != "staff"]
    module = ModuleType(f"case_page_urls_{with_action_route}")
    module.urlpatterns = [*others, path("", include((patterns, "staff")))]
    return module


@pytest.mark.parametrize("role", ["analyst", "lead", "legal"])
def test_actions_link_to_their_forms(role, client, request, settings, analyst, lead, vendor):
    settings.ROOT_URLCONF = _urlconf(with_action_route=True)
    case = berlin_case(S, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(request.getfixturevalue(role))
    response = client.get(f"/cases/{case.reference}/")
    assert [a.label for a in response.context["actions"]] == ACTIONS_ON_SECURED[role]
    html = response.content.decode()
    ref = case.reference
    assert html.count(f'<a href="/cases/{ref}/actions/') == len(ACTIONS_ON_SECURED[role])
    hold = f'<a href="/cases/{ref}/actions/set_legal_hold/">Set or lift legal hold</a>'
    deletion = f'<a href="/cases/{ref}/actions/record_deletion/">Record deletion of our copies</a>'
    assert (hold in html, deletion in html) == {
        "analyst": (False, True),
        "lead": (True, True),
        "legal": (True, False),
    }[role]


def test_actions_are_plain_text_while_their_forms_do_not_exist(
    client, settings, analyst, lead, vendor
):
    settings.ROOT_URLCONF = _urlconf(with_action_route=False)
    case = berlin_case(S, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(lead)
    response = client.get(f"/cases/{case.reference}/")
    assert [a.url for a in response.context["actions"]] == [None] * 13
    assert "<li>Close case</li>" in response.content.decode()
    assert "/actions/" not in response.content.decode()


def test_actions_link_to_the_action_forms_of_the_site(client, analyst, lead, vendor):
    """With the site's own URLs: every action offered links to its form."""
    case = berlin_case(P, analyst=analyst, lead=lead, vendor=vendor)
    client.force_login(lead)
    response = client.get(f"/cases/{case.reference}/")
    ref = case.reference
    assert [(a.action, a.url) for a in response.context["actions"]] == [
        ("close", f"/cases/{ref}/actions/close/"),
        ("acknowledge", f"/cases/{ref}/actions/acknowledge/"),
        ("log_communication", f"/cases/{ref}/actions/log_communication/"),
        ("send_mail", f"/cases/{ref}/actions/send_mail/"),
        ("attach_evidence", f"/cases/{ref}/actions/attach_evidence/"),
        ("file_dispute", f"/cases/{ref}/actions/file_dispute/"),
        ("correct_event", f"/cases/{ref}/actions/correct_event/"),
        ("set_legal_hold", f"/cases/{ref}/actions/set_legal_hold/"),
        ("escalate", f"/cases/{ref}/actions/escalate/"),
        ("update_details", f"/cases/{ref}/actions/update_details/"),
        ("open_follow_up", f"/cases/{ref}/actions/open_follow_up/"),
    ]
    for a in response.context["actions"]:
        assert client.get(a.url).status_code == 200, a.action


def test_header_names_what_the_other_data_is(client, analyst, lead, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, data_categories=["invoices", "other"],
                     data_categories_other="Firmware images")  # fmt: skip
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/").content.decode()
    assert "<dt>Data categories</dt><dd>Invoices, Other: Firmware images</dd>" in html
