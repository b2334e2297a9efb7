"""The staff dashboard: deadlines, my cases, recent activity, stage times."""

import json
from datetime import timedelta

import pytest

from disclosure.core.timeutils import now
from tests.factories import advance, capture, make_case
from tests.staff.cases_e import bulk_cases, make_trio

pytestmark = pytest.mark.django_db

ACCESS = {
    "anonymous": 302,
    "vendor_contact": 404,
    "other_vendor_contact": 404,
    "outsider": 404,
    "analyst": 200,
    "lead": 200,
    "legal": 200,
    "admin_user": 200,
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The stage times are cached (five minutes): start each test without."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def trio(analyst, legal, vendor, other_vendor):
    return make_trio(analyst=analyst, legal=legal, vendor=vendor, other_vendor=other_vendor)


@pytest.mark.parametrize("who,status", ACCESS.items())
def test_access_matrix(who, status, client, request, trio):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get("/")
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == "/login/?next=/"


def test_deadlines_overdue_and_due_soon(client, analyst, trio):
    client.force_login(analyst)
    page = client.get("/")
    board = page.context["board"]
    assert (board.overdue_count, board.due_soon_count) == (1, 1)
    # A: notified 10 days ago (+1 h), "Exposure 30" gives 2 days to acknowledge.
    [late] = board.overdue
    assert (late.case.reference, late.deadline.kind) == (trio.a.reference, "acknowledge")
    assert late.deadline.due == trio.a.vendor_notified_at + timedelta(days=2)
    assert timedelta(days=-8, hours=-1) < late.delta < timedelta(days=-7, hours=-22)
    # C: notified a day ago (+1 h), "Standard 90" gives 7 days to acknowledge.
    [soon] = board.due_soon
    assert (soon.case.reference, soon.deadline.kind) == (trio.c.reference, "acknowledge")
    assert soon.deadline.due == trio.c.vendor_notified_at + timedelta(days=7)
    html = page.content.decode()
    assert "7 d 22 h ago" in html or "7 d 23 h ago" in html
    assert "in 6 d" in html
    assert 'href="/cases/?overdue=yes"' in html


def test_an_acknowledged_case_is_due_next_on_securing(client, analyst, trio):
    from disclosure.cases import services

    services.acknowledge(actor=analyst, case=trio.a, occurred_at=now() - timedelta(days=9))
    client.force_login(analyst)
    board = client.get("/").context["board"]
    # "Exposure 30": secure within 3 days of the notice, 10 days ago: still overdue.
    assert [(r.case.reference, r.deadline.kind) for r in board.overdue] == [
        (trio.a.reference, "secure")
    ]


def test_my_cases(client, analyst, lead, trio):
    client.force_login(analyst)
    assert [c.reference for c in client.get("/").context["my_cases"]] == [trio.a.reference]
    client.force_login(lead)
    page = client.get("/")
    assert list(page.context["my_cases"]) == []
    assert b"No case is assigned to you." in page.content


def test_recent_activity_newest_first_with_case_kind_actor_time(client, analyst, legal, trio):
    client.force_login(legal)
    page = client.get("/")
    rows = [(e.case.reference, e.seq, e.kind, e.actor_snapshot["username"])
            for e in page.context["activity"][:3]]  # fmt: skip
    # The last writes of make_trio: C notified (its notice is #4), secured, disputed.
    assert rows == [
        (trio.c.reference, 7, "dispute_filed", analyst.username),
        (trio.c.reference, 6, "stage_changed", analyst.username),
        (trio.c.reference, 5, "stage_changed", analyst.username),
    ]
    html = page.content.decode()
    assert "#7 Dispute filed" in html
    assert len(page.context["activity"]) == 15


def test_stage_times_median_and_spread(client, analyst, vendor):
    _three_timed_cases(analyst, vendor)
    client.force_login(analyst)
    page = client.get("/")
    figures = {t.key: (t.cases, t.minimum, t.p25, t.median, t.p75, t.maximum)
               for t in page.context["stage_times"]}  # fmt: skip
    assert figures == EXPECTED_TIMES
    data = json.loads(_json_script(page.content.decode(), "stage-times-data"))
    assert data == {
        "labels": ["Found → notified", "Found → secured", "Found → deleted", "Found → published"],
        "cases": [3, 2, 0, 0],
        "range": [[1.0, 4.0], [3.0, 5.0], [None, None], [None, None]],
        "middle": [[1.5, 3.0], [3.5, 4.5], [None, None], [None, None]],
        "median": [2.0, 4.0, None, None],
    }
    html = page.content.decode()
    assert "/static/vendor/chartjs/chart.umd.min.js" in html
    assert "<td>Found → secured</td><td>2</td><td>3.0</td><td>3.5</td><td>4.0</td>" in html


def test_stage_times_are_cached_for_a_while(client, analyst, vendor):
    from disclosure.cases.stage_times import stage_times

    assert stage_times(analyst)[0].cases == 0
    make_case("vendor_notified", actor=analyst, vendor=vendor)
    assert stage_times(analyst)[0].cases == 0
    assert stage_times(analyst, cached=False)[0].cases == 1


SQLITE_STAGE_TIMES = 'SELECT "cases_case"."found_at", "cases_case"."vendor_notified_at"'


def test_the_periodic_task_warms_the_staff_figures(client, analyst, lead, vendor, settings):
    """After ``warm_stage_times`` (beat, every four minutes) the dashboard
    reads the figures from the cache: no percentile query while a user waits,
    and they include the cases opened since."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from disclosure.cases.stage_times import STAGE_TIMES_CACHE_SECONDS
    from disclosure.cases.tasks import warm_stage_times

    assert settings.CELERY_BEAT_SCHEDULE["warm-dashboard-stage-times"] == {
        "task": "disclosure.cases.tasks.warm_stage_times",
        "schedule": 240,
    }
    assert STAGE_TIMES_CACHE_SECONDS == 300  # the beat comes before they expire
    client.force_login(analyst)
    client.get("/")  # cached: no case notified yet
    make_case("vendor_notified", actor=analyst, vendor=vendor)
    warm_stage_times.delay()
    for user in (analyst, lead):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/")
        assert page.context["stage_times"][0].cases == 1
        stage_time_queries = [
            q["sql"] for q in queries.captured_queries
            if "percentile_cont" in q["sql"]  # PostgreSQL
            or q["sql"].startswith(SQLITE_STAGE_TIMES)
        ]  # fmt: skip
        assert stage_time_queries == []


@pytest.mark.postgres
def test_stage_times_on_postgresql_match(analyst, vendor):
    from disclosure.cases.stage_times import stage_times

    _three_timed_cases(analyst, vendor)
    figures = {t.key: (t.cases, t.minimum, t.p25, t.median, t.p75, t.maximum)
               for t in stage_times(analyst)}  # fmt: skip
    assert _close(figures, EXPECTED_TIMES)


# Notified after 1, 2 and 4 days; secured after 3 and 5 days.
EXPECTED_TIMES = {
    "notified": (3, 1.0, 1.5, 2.0, 3.0, 4.0),
    "secured": (2, 3.0, 3.5, 4.0, 4.5, 5.0),
    "deleted": (0, None, None, None, None, None),
    "published": (0, None, None, None, None, None),
}


def _close(got, expected) -> bool:
    for key, row in expected.items():
        for a, b in zip(got[key], row, strict=True):
            assert (a is None and b is None) or abs(a - b) < 1e-9, (key, got[key], row)
    return True


def _three_timed_cases(analyst, vendor):
    start = now() - timedelta(days=30)
    for i, (notified, secured) in enumerate([(1, 3), (2, 5), (4, None)]):
        case = make_case(
            "found", actor=analyst, vendor=vendor, start=start,
            exposure_evidence=[capture(f"timed {i}".encode())],
        )  # fmt: skip
        case = advance(case, "vendor_notified", actor=analyst, at=start + timedelta(days=notified))
        if secured:
            advance(case, "secured", actor=analyst, at=start + timedelta(days=secured))


def _json_script(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return html[start : html.index("</script>", start)]


def test_an_empty_dashboard(client, analyst):
    client.force_login(analyst)
    page = client.get("/")
    html = page.content.decode()
    assert "Nothing is overdue." in html
    assert "Nothing has happened yet." in html
    assert "no case yet" in html


def test_json_script_escapes_what_it_carries(client, analyst):
    """The chart's figures are numbers and fixed labels; json_script escapes
    anyway (no user text reaches the script element unescaped)."""
    client.force_login(analyst)
    html = client.get("/").content.decode()
    assert '<script id="stage-times-data" type="application/json">' in html


QUERY_LIMIT = 12  # session, user, memberships, per stage, mine, policies, 2 lists,
#                   counts, activity, stage times, +1


@pytest.mark.parametrize("n", [5, 60])
def test_queries_do_not_grow_with_cases(n, client, analyst, vendor, django_assert_max_num_queries):
    bulk_cases(n, actor=analyst, vendor=vendor)
    client.force_login(analyst)
    with django_assert_max_num_queries(QUERY_LIMIT):
        page = client.get("/")
    assert page.status_code == 200
    assert page.context["board"].overdue_count == n
    assert len(page.context["board"].overdue) == min(n, 10)
