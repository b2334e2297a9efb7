"""The staff case list at /cases/: filters, search, sort, pages, access, queries."""

import pytest

from tests.staff.cases_e import bulk_cases, make_trio

pytestmark = pytest.mark.django_db


@pytest.fixture
def trio(analyst, legal, vendor, other_vendor):
    return make_trio(analyst=analyst, legal=legal, vendor=vendor, other_vendor=other_vendor)


def titles(response) -> list[str]:
    assert response.status_code == 200
    return [case.title for case, _deadline in response.context["rows"]]


# ---- access -------------------------------------------------------------

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


@pytest.mark.parametrize("who,status", ACCESS.items())
def test_access_matrix(who, status, client, request, trio):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get("/cases/")
    assert response.status_code == status
    if status == 302:
        assert response["Location"] == "/login/?next=/cases/"


def test_nav_links_to_the_list(client, analyst):
    client.force_login(analyst)
    assert b'<a href="/cases/"' in client.get("/").content


# ---- filters ------------------------------------------------------------

FILTERS = [
    ("", ["Search cluster", "BlueBleed container", "Backup bucket"]),
    ("stage=found", ["Backup bucket"]),
    ("stage=secured", ["Search cluster"]),
    ("severity=critical", ["BlueBleed container"]),
    ("severity=medium", []),
    ("tlp=green", ["Backup bucket"]),
    ("provider=gcp", ["Search cluster"]),
    ("asset_kind=blob_container", ["BlueBleed container"]),
    ("category=pii", ["BlueBleed container"]),
    ("category=email_content", ["BlueBleed container"]),
    ("category=financial", ["Search cluster"]),
    ("category=health", []),
    ("overdue=yes", ["BlueBleed container"]),
    ("overdue=no", ["Search cluster", "Backup bucket"]),
    ("disputed=yes", ["Search cluster"]),
    ("disputed=no", ["BlueBleed container", "Backup bucket"]),
    ("legal_hold=yes", ["Backup bucket"]),
    ("legal_hold=no", ["Search cluster", "BlueBleed container"]),
    ("severity=critical&overdue=yes", ["BlueBleed container"]),
    ("severity=critical&overdue=no", []),
    ("q=bluebleed", ["BlueBleed container"]),
    ("q=e-mails", ["BlueBleed container"]),
    ("q=fabrikam-backups", ["Backup bucket"]),
    ("q=CLUSTER", ["Search cluster"]),
    ("q=nothing-like-this", []),
    ("q=++", ["Search cluster", "BlueBleed container", "Backup bucket"]),
]


@pytest.mark.parametrize("query,expected", FILTERS)
def test_filters(query, expected, client, analyst, trio):
    client.force_login(analyst)
    assert titles(client.get(f"/cases/?{query}")) == expected


def test_filter_by_vendor(client, analyst, trio, other_vendor, vendor):
    client.force_login(analyst)
    assert titles(client.get(f"/cases/?vendor={other_vendor.pk}")) == ["Backup bucket"]
    assert titles(client.get(f"/cases/?vendor={vendor.pk}")) == [
        "Search cluster", "BlueBleed container",
    ]  # fmt: skip


def test_filter_by_assignee(client, analyst, lead, trio):
    client.force_login(lead)
    assert titles(client.get(f"/cases/?assignee={analyst.pk}")) == ["BlueBleed container"]
    assert titles(client.get(f"/cases/?assignee={lead.pk}")) == []


def test_search_by_reference(client, analyst, trio):
    client.force_login(analyst)
    assert titles(client.get(f"/cases/?q={trio.c.reference}")) == ["Search cluster"]
    assert titles(client.get(f"/cases/?q={trio.c.reference.lower()}")) == ["Search cluster"]


@pytest.mark.parametrize(
    "query", ["stage=nope", "severity=extreme", "vendor=999999", "overdue=maybe", "sort=password"]
)
def test_an_invalid_filter_is_a_form_error_not_a_500(query, client, analyst, trio):
    client.force_login(analyst)
    response = client.get(f"/cases/?{query}")
    assert titles(response) == ["Search cluster", "BlueBleed container", "Backup bucket"]
    assert response.context["filter"].errors
    assert b"Select a valid choice" in response.content


@pytest.mark.postgres
@pytest.mark.parametrize(
    "query,expected",
    [
        ("q=bluebleed", ["BlueBleed container"]),
        ("q=customer e-mails", ["BlueBleed container"]),
        ("q=public container", ["BlueBleed container"]),
        ("q=fabrikam-backups", ["Backup bucket"]),
        ("q=CLUSTER", ["Search cluster"]),
        ('q="search cluster"', ["Search cluster"]),
        ("q=search -cluster", []),
        ("q=nothing", []),
    ],
)
def test_full_text_search_on_postgresql(query, expected, client, analyst, trio):
    client.force_login(analyst)
    assert titles(client.get(f"/cases/?{query}")) == expected
    assert titles(client.get(f"/cases/?q={trio.a.reference}")) == ["BlueBleed container"]


@pytest.mark.postgres
def test_search_uses_the_gin_index_on_postgresql(analyst):
    from django.db import connection

    from disclosure.cases.models import Case
    from disclosure.cases.search import search_cases

    qs = search_cases(Case.objects.all(), "bluebleed")
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        sql, params = qs.query.sql_with_params()
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert "cases_case_search_gin" in plan, plan


# ---- sort ---------------------------------------------------------------

SORTS = [
    ("sort=title", ["Backup bucket", "BlueBleed container", "Search cluster"]),
    ("sort=-title", ["Search cluster", "BlueBleed container", "Backup bucket"]),
    ("sort=severity", ["Backup bucket", "Search cluster", "BlueBleed container"]),
    ("sort=-severity", ["BlueBleed container", "Search cluster", "Backup bucket"]),
    ("sort=stage", ["Backup bucket", "BlueBleed container", "Search cluster"]),
    ("sort=-stage", ["Search cluster", "BlueBleed container", "Backup bucket"]),
    ("sort=found", ["Backup bucket", "BlueBleed container", "Search cluster"]),
    ("sort=-found", ["Search cluster", "BlueBleed container", "Backup bucket"]),
    ("sort=vendor", ["BlueBleed container", "Search cluster", "Backup bucket"]),
    ("sort=-vendor", ["Backup bucket", "Search cluster", "BlueBleed container"]),
    ("sort=reference", ["BlueBleed container", "Backup bucket", "Search cluster"]),
    ("sort=notified", ["BlueBleed container", "Search cluster", "Backup bucket"]),
    ("sort=-notified", ["Search cluster", "BlueBleed container", "Backup bucket"]),
]


@pytest.mark.parametrize("query,expected", SORTS)
def test_sort(query, expected, client, analyst, trio):
    client.force_login(analyst)
    assert titles(client.get(f"/cases/?{query}")) == expected


def test_sorted_heading_links_to_the_other_direction(client, analyst, trio):
    client.force_login(analyst)
    html = client.get("/cases/?sort=title&severity=").content.decode()
    assert 'aria-sort="ascending"' in html
    assert "?sort=-title&amp;severity=" in html


# ---- pages --------------------------------------------------------------


@pytest.fixture
def thirty(analyst, vendor):
    bulk_cases(30, actor=analyst, vendor=vendor)


PAGES = [
    # query, page number shown, rows on it, rows per page
    ("", 1, 25, 25),
    ("page=2", 2, 5, 25),
    ("page_size=10", 1, 10, 10),
    ("page_size=10&page=3", 3, 10, 10),
    ("page_size=10&page=0", 1, 10, 10),
    ("page_size=10&page=-4", 1, 10, 10),
    ("page_size=10&page=999", 3, 10, 10),
    ("page_size=10&page=abc", 1, 10, 10),
    ("page_size=10&page=last", 3, 10, 10),
    ("page_size=10&page=2.5", 1, 10, 10),
    ("page_size=500", 1, 30, 100),
    ("page_size=100", 1, 30, 100),
    ("page_size=0", 1, 25, 25),
    ("page_size=-3", 1, 25, 25),
    ("page_size=lots", 1, 25, 25),
]


@pytest.mark.parametrize("query,number,rows,size", PAGES)
def test_pages(query, number, rows, size, client, analyst, thirty):
    client.force_login(analyst)
    response = client.get(f"/cases/?{query}")
    assert response.status_code == 200
    assert response.context["page"].number == number
    assert len(response.context["rows"]) == rows
    assert response.context["page_size"] == size


@pytest.mark.parametrize(
    "sort", ["", "sort=title", "sort=-severity", "sort=notified", "sort=-stage"]
)
def test_late_pages_read_from_the_other_end_in_the_same_order(sort, client, analyst, thirty):
    client.force_login(analyst)
    everything = [c.pk for c, _d in client.get(f"/cases/?page_size=100&{sort}").context["rows"]]
    pages = []
    for number in (1, 2, 3, 4):
        response = client.get(f"/cases/?page_size=8&page={number}&{sort}")
        pages += [c.pk for c, _d in response.context["rows"]]
    assert len(everything) == 30
    assert pages == everything


@pytest.mark.parametrize("query,expected", SORTS)
def test_one_row_pages_follow_the_sort_to_the_last_page(query, expected, client, analyst, trio):
    """Page 3 of 3 is read from the other end: cases without the sorted value
    (B was never notified) must still come last."""
    client.force_login(analyst)
    got = []
    for number in (1, 2, 3):
        got += titles(client.get(f"/cases/?page_size=1&page={number}&{query}"))
    assert got == expected


def test_pages_keep_the_filters_in_their_links(client, analyst, thirty):
    client.force_login(analyst)
    html = client.get("/cases/?page_size=10&stage=secured&page=2").content.decode()
    assert "?page_size=10&amp;stage=secured&amp;page=3" in html
    assert "?page_size=10&amp;stage=secured&amp;page=1" in html


def test_an_empty_list_is_one_page(client, analyst):
    client.force_login(analyst)
    response = client.get("/cases/?page=4")
    assert response.status_code == 200
    assert response.context["page"].number == 1
    assert b"No case matches." in response.content


def test_rows_link_to_the_case_page_and_show_the_next_deadline(client, analyst, trio):
    client.force_login(analyst)
    html = client.get("/cases/?overdue=yes").content.decode()
    assert f'href="/cases/{trio.a.reference}/"' in html
    assert "Acknowledge" in html and "overdue" in html


# ---- queries ------------------------------------------------------------

QUERY_LIMIT = 9  # session, user, memberships, vendors, assignees, policies, count, keys, rows


@pytest.mark.parametrize("n", [5, 60])
@pytest.mark.parametrize(
    "query",
    [
        "page_size=100",
        "page_size=100&overdue=yes&disputed=yes&category=pii&q=bucket&sort=-severity",
    ],
)
def test_queries_do_not_grow_with_rows(
    n, query, client, analyst, vendor, django_assert_max_num_queries
):
    bulk_cases(n, actor=analyst, vendor=vendor)
    client.force_login(analyst)
    with django_assert_max_num_queries(QUERY_LIMIT):
        response = client.get(f"/cases/?{query}")
    assert len(response.context["rows"]) == n
