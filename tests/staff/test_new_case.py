"""Opening a case from the staff UI (/cases/new/)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from disclosure.ledger.models import CaseEvent

pytestmark = pytest.mark.django_db

URL = "/cases/new/"


def upload(content=b"listing of the container\n", name="capture.txt"):
    return SimpleUploadedFile(name, content, content_type="text/plain")


def form_data(vendor, /, **changes):
    data = {
        "vendor": vendor.pk,
        "title": "Open blob container",
        "summary": "",
        "asset_provider": "azure",
        "asset_kind": "blob_container",
        "asset_identifier": "https://acct.blob.core.windows.net/backup",
        "asset_region": "westeurope",
        "how_found": "Passive DNS and an anonymous listing",
        "time_zone": "UTC",
        "found_at": "2026-01-05T10:30",
        "data_categories": ["pii", "email_content"],
        "volume_bytes": "2400000000000",
        "volume_objects": "",
        "records_by_kind": "emails: 335000\ncontracts: 1,200",
        "severity": "high",
        "tlp": "amber",
        "policy": "",
        "assignee": "",
        "evidence_kind": "exposure_capture",
        "exposure_evidence": [upload()],
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return (Case.objects.count(), CaseEvent.objects.count(), EvidenceFile.objects.count())


def test_the_form_shows_every_exposure_field_with_a_label(client, analyst, vendor):
    client.force_login(analyst)
    html = client.get(URL).content.decode()
    for name in [
        "vendor", "title", "asset_provider", "asset_kind", "asset_identifier", "asset_region",
        "how_found", "time_zone", "found_at", "volume_bytes", "volume_objects",
        "records_by_kind", "severity", "tlp", "policy", "assignee", "exposure_evidence",
        "evidence_kind",
    ]:  # fmt: skip
        assert f'<label for="id_{name}"' in html, name
    assert 'type="datetime-local"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "Contoso" in html


def test_an_analyst_opens_a_case_with_evidence_and_lands_on_its_page(client, analyst, vendor):
    client.force_login(analyst)
    response = client.post(URL, form_data(vendor, assignee=analyst.pk))
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/"
    assert case.stage == "found"
    assert case.found_at == datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    assert case.records_by_kind == {"emails": 335000, "contracts": 1200}
    assert case.data_categories == ["email_content", "pii"]
    assert case.volume_bytes == 2_400_000_000_000 and case.volume_objects is None
    assert case.assignee == analyst
    assert case.policy == DisclosurePolicy.objects.get(name="Standard 90")
    evidence = EvidenceFile.objects.get(case=case)
    assert (evidence.kind, evidence.original_name, evidence.size) == (
        "exposure_capture",
        "capture.txt",
        25,
    )


def test_found_at_is_read_in_the_time_zone_chosen_for_the_case(client, analyst, vendor):
    client.force_login(analyst)
    client.post(
        URL,
        form_data(
            vendor,
            time_zone="Europe/Berlin",
            found_at="2026-01-05T10:30",
            evidence_kind="screenshot",
            exposure_evidence=[upload(b"one"), upload(b"two", "two.png")],
        ),
    )
    case = Case.objects.get()
    assert case.time_zone == "Europe/Berlin"
    assert case.found_at == datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    assert sorted(EvidenceFile.objects.values_list("kind", "original_name")) == [
        ("screenshot", "capture.txt"),
        ("screenshot", "two.png"),
    ]


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"title": ""}, "title", "This field is required."),
        ({"vendor": ""}, "vendor", "This field is required."),
        ({"exposure_evidence": None}, "exposure_evidence", "This field is required."),
        ({"records_by_kind": "emails 335000"}, "records_by_kind", "is not &#x27;kind: count&#x27;"),
        ({"found_at": "yesterday"}, "found_at", "Enter a valid date/time."),
        ({"volume_bytes": "-1"}, "volume_bytes", "greater than or equal to 0"),
        ({"asset_kind": "mainframe"}, "asset_kind", "Select a valid choice."),
        # Service errors land on their field too.
        (
            {"found_at": (now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")},
            "found_at",
            "in the future",
        ),
        ({"evidence_kind": "exposure_capture", "title": "   "}, "title", "required"),
    ],
)
def test_bad_input_is_a_form_error_and_opens_nothing(
    client, analyst, vendor, changes, field, message
):
    client.force_login(analyst)
    before = counts()
    response = client.post(URL, form_data(vendor, **changes))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "Nothing was recorded" in html
    if field:
        assert f'id="id_{field}_errors"' in html
    assert counts() == before


def test_a_non_vendor_organization_is_not_a_vendor_choice(client, analyst, vendor, firm):
    client.force_login(analyst)
    response = client.post(URL, form_data(vendor, vendor=firm.pk))
    assert response.status_code == 400
    assert 'id="id_vendor_errors"' in response.content.decode()
    assert Case.objects.count() == 0


def test_an_assignee_who_is_not_staff_is_refused(client, analyst, vendor, vendor_contact):
    client.force_login(analyst)
    before = counts()
    response = client.post(URL, form_data(vendor, assignee=vendor_contact.pk))
    assert response.status_code == 400
    assert 'id="id_assignee_errors"' in response.content.decode()
    assert counts() == before


def test_an_empty_evidence_file_is_refused_on_its_field(client, analyst, vendor):
    client.force_login(analyst)
    before = counts()
    response = client.post(URL, form_data(vendor, exposure_evidence=[upload(b"")]))
    assert response.status_code == 400
    assert 'id="id_exposure_evidence_errors"' in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(
    "who, status",
    [
        (None, 302),
        ("vendor_contact", 404),
        ("outsider", 404),
        ("analyst", 200),
        ("lead", 200),
        ("legal", 403),
        ("admin_user", 200),
    ],
)
def test_access_matrix(client, request, vendor, who, status):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == status
    before = counts()
    response = client.post(URL, form_data(vendor))
    assert response.status_code == (302 if who is None or status == 200 else status)
    if status != 200:
        assert counts() == before


@pytest.mark.parametrize("who, shown", [("analyst", True), ("legal", False)])
def test_the_nav_link_is_shown_to_those_who_may_open_cases(client, request, who, shown):
    client.force_login(request.getfixturevalue(who))
    html = client.get("/").content.decode()
    assert ('href="/cases/new/"' in html) is shown


def test_the_form_queries_are_pinned(client, analyst, django_assert_max_num_queries):
    client.force_login(analyst)
    # session, user, memberships, then the vendor, policy and staff choices
    with django_assert_max_num_queries(6):
        assert client.get("/cases/new/").status_code == 200


def test_every_unknown_data_category_is_named(client, analyst, vendor):
    client.force_login(analyst)
    before = counts()
    response = client.post(URL, form_data(vendor, data_categories=["firmware", "pii", "keys"]))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_data_categories_errors"' in html
    assert "Unknown data categories &#x27;firmware&#x27;, &#x27;keys&#x27;: use any of" in html
    assert counts() == before
