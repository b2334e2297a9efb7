"""Search over a case and its records (cases.search), through the function
and through both lists that use it (the staff case list, the API case
list): each source found, internal records kept from vendors, the lists'
query counts unchanged by a search. Runs on SQLite (substrings) and on
PostgreSQL (full text with the GIN indexes)."""

import pytest
from django.db import connection
from django.utils.timezone import now
from rest_framework.test import APIClient

from disclosure.affected.models import Dispute
from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.search import search_cases
from disclosure.cases.stages import Stage
from disclosure.comms.models import Channel, Communication, Direction
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.tokens import services as tokens
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor):
    return make_case(
        Stage.VENDOR_NOTIFIED,
        actor=analyst,
        vendor=vendor,
        title="Open bucket",
        asset_identifier="s3://fabrikam-backups",
    )


@pytest.fixture
def other(analyst, other_vendor):
    """A case that matches nothing searched for here."""
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=other_vendor, title="Other")


def _log(case, analyst, *, direction=Direction.OUTBOUND, **fields):
    values = {
        "channel": Channel.EMAIL,
        "sender": "research@firm.example",
        "recipients": ["security@vendor.example"],
        "subject": "Follow-up",
        "body": "Any news?",
        "occurred_at": now(),
        "logged_by": analyst,
        **fields,
    }
    return Communication.objects.create(case=case, direction=direction, **values)


def _evidence(case, analyst, name, *, internal=False):
    return EvidenceFile.objects.create(
        case=case,
        sha256="a" * 64,
        size=10,
        content_type="text/plain",
        original_name=name,
        kind=EvidenceKind.EXPOSURE_CAPTURE,
        uploaded_by=analyst,
        internal=internal,
    )


def _dispute(case, analyst, **fields):
    values = {
        "subject": "Affected count",
        "firm_position": "About a thousand",
        "firm_provenance": "The listing",
        "vendor_position": "Fewer",
        "vendor_provenance": "Their logs",
        "filed_by": analyst,
        "filed_at": now(),
        **fields,
    }
    return Dispute.objects.create(case=case, **values)


def refs(text, *, staff):
    return sorted(
        search_cases(Case.objects.all(), text, staff=staff).values_list("title", flat=True)
    )


# ---- each source -----------------------------------------------------------


@pytest.mark.parametrize(
    "fields,text",
    [
        ({"subject": "Quarterly reconciliation"}, "reconciliation"),
        ({"body": "The container holds payroll spreadsheets."}, "payroll"),
        ({"sender": "ciso@wingtiptoys.example"}, "ciso@wingtiptoys.example"),
        ({"recipients": ["dpo@wingtiptoys.example"]}, "dpo@wingtiptoys.example"),
    ],
)
@pytest.mark.parametrize("staff", [True, False])
def test_a_communication_is_found_by_subject_body_sender_and_recipients(
    case, other, analyst, fields, text, staff
):
    assert refs(text, staff=staff) == []
    _log(case, analyst, direction=Direction.INBOUND, **fields)
    assert refs(text, staff=staff) == ["Open bucket"]


@pytest.mark.parametrize(
    "fields,text",
    [
        ({"firm_position": "Roughly forty thousand customers"}, "customers"),
        ({"vendor_position": "Only staging tenants were exposed"}, "tenants"),
        ({"answer": "The firm maintains its estimate"}, "estimate"),
        ({"settlement_reason": "Superseded by the audit report"}, "audit"),
        ({"subject": "Retention period"}, "retention"),
    ],
)
def test_a_dispute_is_found_by_its_text(case, other, analyst, fields, text):
    assert refs(text, staff=True) == []
    _dispute(case, analyst, **fields)
    assert refs(text, staff=True) == ["Open bucket"]
    assert refs(text, staff=False) == ["Open bucket"]


def test_an_evidence_file_is_found_by_its_name(case, other, analyst):
    assert refs("customers_2021.csv", staff=True) == []
    _evidence(case, analyst, "customers_2021.csv")
    assert refs("customers_2021.csv", staff=True) == ["Open bucket"]
    assert refs("customers_2021.csv", staff=False) == ["Open bucket"]


def test_the_vendors_security_contact_address_and_domain_are_found(case, other, vendor):
    assert refs("psirt@contoso-security.example", staff=True) == []
    vendor.security_contacts = ["psirt@contoso-security.example"]
    vendor.domains = ["contoso-cloud.example"]
    vendor.save()
    assert refs("psirt@contoso-security.example", staff=True) == ["Open bucket"]
    assert refs("contoso-security.example", staff=False) == ["Open bucket"]
    assert refs("contoso-cloud.example", staff=True) == ["Open bucket"]


def test_a_vendor_contacts_address_is_found(case, other, vendor_contact, analyst):
    vendor_contact.email = "maria.garcia@contoso-mail.example"
    vendor_contact.save()
    assert refs("maria.garcia@contoso-mail.example", staff=True) == ["Open bucket"]
    # Not a staff member's address: the analyst is no vendor contact.
    analyst.email = "sam@firm-mail.example"
    analyst.save()
    assert refs("sam@firm-mail.example", staff=True) == []


def test_the_cases_own_fields_are_still_found(case, other):
    assert refs("fabrikam-backups", staff=True) == ["Open bucket"]
    assert refs("fabrikam", staff=False) == ["Open bucket"]


# ---- what a vendor may not search -------------------------------------------


def test_a_vendor_does_not_find_a_case_by_an_internal_note(case, other, analyst):
    _log(case, analyst, direction=Direction.INTERNAL, body="Suspect insider reconnaissance")
    assert refs("reconnaissance", staff=True) == ["Open bucket"]
    assert refs("reconnaissance", staff=False) == []


def test_a_vendor_does_not_find_a_case_by_an_internal_file_name(case, other, analyst):
    _evidence(case, analyst, "whois_lookup_notes.txt", internal=True)
    assert refs("whois_lookup_notes.txt", staff=True) == ["Open bucket"]
    assert refs("whois_lookup_notes.txt", staff=False) == []


def test_a_vendor_does_not_find_records_of_a_case_that_changed_vendor(
    other, analyst, lead, vendor, other_vendor
):
    case = make_case(Stage.FOUND, actor=analyst, vendor=other_vendor, title="Moved")
    _log(case, analyst, body="Earlier owner replied: tenderloin")
    _evidence(case, analyst, "earlier_owner.txt")
    services.update_details(actor=lead, case=case, changes={"vendor": vendor})
    assert refs("tenderloin", staff=True) == ["Moved"]
    assert refs("tenderloin", staff=False) == []
    assert refs("earlier_owner.txt", staff=True) == ["Moved"]
    assert refs("earlier_owner.txt", staff=False) == []


# ---- through both lists ------------------------------------------------------


def _api(user):
    issued = tokens.create_token(user=user, name="search", scope="read", days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


def test_the_api_list_searches_records_and_hides_internal_ones_from_vendors(
    case, other, analyst, vendor_contact
):
    _log(case, analyst, direction=Direction.INTERNAL, body="Suspect insider reconnaissance")
    _log(case, analyst, subject="Quarterly reconciliation")
    as_vendor, as_staff = _api(vendor_contact), _api(analyst)

    def found(client, q):
        return [r["title"] for r in client.get(f"/api/v1/cases/?q={q}").json()["results"]]

    assert found(as_staff, "reconnaissance") == ["Open bucket"]
    assert found(as_vendor, "reconnaissance") == []
    assert found(as_vendor, "reconciliation") == ["Open bucket"]


def test_the_staff_list_searches_records(client, case, other, analyst):
    _log(case, analyst, direction=Direction.INTERNAL, body="Suspect insider reconnaissance")
    client.force_login(analyst)
    response = client.get("/cases/?q=reconnaissance")
    assert [c.title for c, _deadline in response.context["rows"]] == ["Open bucket"]


@pytest.mark.parametrize("actor", ["analyst", "vendor_contact"])
def test_an_api_search_keeps_the_lists_query_count(
    request, actor, analyst, vendor, django_assert_max_num_queries
):
    client = _api(request.getfixturevalue(actor))
    client.get("/api/v1/cases/")  # the token's first use is recorded once
    for i in range(5):
        c = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, title=f"Bucket {i}")
        _log(c, analyst, subject="Quarterly reconciliation")
    # the same pin as tests/api/test_cases.py's list: token, then the rows
    with django_assert_max_num_queries(2):
        r = client.get("/api/v1/cases/?q=reconciliation")
    assert len(r.json()["results"]) == 5


def test_a_staff_search_keeps_the_lists_query_count(
    client, analyst, vendor, django_assert_max_num_queries
):
    for i in range(5):
        c = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, title=f"Bucket {i}")
        _log(c, analyst, subject="Quarterly reconciliation")
    client.force_login(analyst)
    # the same pin as tests/staff/test_case_list.py's QUERY_LIMIT
    with django_assert_max_num_queries(9):
        response = client.get("/cases/?q=reconciliation&page_size=100")
    assert len(response.context["rows"]) == 5


# ---- PostgreSQL: the indexes --------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "index",
    ["comms_communication_search", "affected_dispute_search", "evidence_file_search"],
)
def test_the_gin_indexes_exist(index):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [index])
        (definition,) = cursor.fetchone()
    if index == "comms_communication_search":  # the stored documents (comms/0007)
        assert "comms_communicationsearch USING gin (document)" in definition
    else:
        assert "USING gin (to_tsvector('simple'::regconfig" in definition


@pytest.mark.postgres
def test_the_planner_uses_the_communication_index(case, analyst):
    for i in range(200):
        _log(case, analyst, subject=f"Routine message {i}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE comms_communication")
        cursor.execute("ANALYZE comms_communicationsearch")  # the documents (comms/0007)
        cursor.execute("SET enable_seqscan = off")
        # 200 rows: a full scan of the documents' primary key would do too
        cursor.execute("SET enable_indexscan = off")
        plan = search_cases(Case.objects.all(), "reconciliation", staff=True).explain()
        cursor.execute("SET enable_indexscan = on")
        cursor.execute("SET enable_seqscan = on")
    assert "comms_communication_search" in plan
