"""Whose turn it is, on the case page and the dashboard."""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.comms.models import Communication
from disclosure.watchers.selectors import Turn, turn_from, turns_for, whose_turn
from tests.factories import inbound_kwargs, make_case
from tests.watchers.helpers import FOUND, NOTIFIED, notified_case, policy

H = timedelta(hours=1)
T = {name: NOTIFIED + i * H for i, name in enumerate(["ack", "in", "out", "secured", "deleted"], 1)}


@pytest.mark.parametrize(
    ("times", "last_in", "last_out", "expected"),
    [
        ({"vendor_notified_at": None}, None, None, Turn("ours", FOUND)),
        ({}, None, NOTIFIED, Turn("vendor", NOTIFIED)),
        ({"vendor_acknowledged_at": T["ack"]}, None, NOTIFIED, Turn("vendor", T["ack"])),
        ({"vendor_acknowledged_at": T["ack"]}, T["in"], NOTIFIED, Turn("ours", T["in"])),
        ({"vendor_acknowledged_at": T["ack"]}, T["in"], T["out"], Turn("vendor", T["out"])),
        ({}, NOTIFIED - H, None, Turn("vendor", NOTIFIED)),  # a message before the notice
        ({"secured_at": T["secured"]}, T["in"], T["out"], Turn("ours", T["secured"])),
        (
            {"secured_at": T["secured"], "data_deleted_at": T["deleted"]},
            None, None, Turn("ours", T["deleted"]),
        ),
        ({"secured_at": T["secured"], "closed_at": T["deleted"]}, None, None,
         Turn(None, T["deleted"])),
    ],
)  # fmt: skip
def test_turn_table(times, last_in, last_out, expected):
    case = Case(**{"found_at": FOUND, "vendor_notified_at": NOTIFIED, **times})
    assert turn_from(case, last_in, last_out) == expected


def test_turn_reads_the_messages_not_auto_replies(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    assert whose_turn(case) == Turn("vendor", NOTIFIED)  # the notice is our message
    services.log_communication(actor=analyst, case=case, **inbound_kwargs(NOTIFIED + H))
    # Received mail that no person wrote (comms.inbound sets it): no answer.
    Communication.objects.filter(case=case, direction="inbound").update(automated="auto_reply")
    assert whose_turn(case) == Turn("vendor", NOTIFIED)
    services.log_communication(actor=analyst, case=case, **inbound_kwargs(NOTIFIED + 2 * H))
    assert whose_turn(case) == Turn("ours", NOTIFIED + 2 * H)
    other = notified_case(actor=analyst, vendor=vendor, policy=policy("Other"))
    assert turns_for([case, other]) == {
        case.pk: Turn("ours", NOTIFIED + 2 * H),
        other.pk: Turn("vendor", NOTIFIED),
    }


def test_case_page_says_whose_turn(client, analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'class="whose-turn turn-vendor"' in html
    assert "The vendor&#x27;s turn" in html or "The vendor's turn" in html
    assert "2026-06-05" in html.split('id="whose-turn"')[1].split("</p>")[0]


def test_dashboard_says_whose_turn_without_a_query_per_case(
    client, analyst, vendor, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(analyst)

    def dashboard_queries():
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/")
        return page, len(queries)

    terms = policy()
    notified_case(actor=analyst, vendor=vendor, policy=terms)
    dashboard_queries()  # the stage-time figures are cached from then on
    _page, few = dashboard_queries()
    for _ in range(5):
        notified_case(actor=analyst, vendor=vendor, policy=terms)
    make_case("found", actor=analyst, vendor=vendor)
    page, many = dashboard_queries()
    assert many == few
    html = page.content.decode()
    assert '<th scope="col">Whose turn</th>' in html
    assert html.count('class="turn-vendor"') == 6
