"""The staff UI's affected-entity pages: access matrix, upload with the
import's outcome, grouping, claims, telling, errors as form errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disclosure.affected.models import AffectedImport, AffectedOrganization, Dispute
from disclosure.cases.stages import Stage
from tests.factories import make_case

pytestmark = pytest.mark.django_db

CSV = b"email,country\na@contoso.com,US\nb@contoso.de,DE\nc@gmail.com,GB\nd@contoso.com,US\n"


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def url(name, case, *args):
    return reverse(f"staff:{name}", args=[case.reference, *args])


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 302), ("other_vendor_contact", 404), ("vendor_contact", 404), ("analyst", 200),
     ("legal", 200)],
)  # fmt: skip
@pytest.mark.parametrize(
    "name", ["case_affected", "case_affected_summary", "case_affected_imports"]
)
def test_access_matrix_of_the_pages(client, request, case, who, status, name):
    if who:
        client.force_login(request.getfixturevalue(who))
    assert client.get(url(name, case)).status_code == status


def test_an_unknown_case_is_404(client, analyst):
    client.force_login(analyst)
    assert client.get("/cases/DSC-2099-9999/affected/").status_code == 404


def upload(client, case, data=CSV):
    return client.post(
        url("case_affected_import", case),
        {"file": SimpleUploadedFile("list.csv", data), "format": "csv"},
    )


def test_upload_runs_the_import_and_the_page_shows_the_counts(client, analyst, case):
    client.force_login(analyst)
    response = upload(client, case)
    assert response.status_code == 302
    batch = AffectedImport.objects.get(case=case)
    assert (batch.status, batch.rows) == (AffectedImport.Status.DONE, 4)
    page = client.get(url("case_affected", case)).content.decode()
    assert '<tr id="level-emails">' in page
    assert "Distinct e-mail addresses</th>\n    <td>4</td>" in page
    assert "Registrable domains without free-mail</th>\n    <td>2</td>" in page
    summary = client.get(url("case_affected_summary", case)).content.decode()
    assert "Countries</th>\n    <td>3</td>" in summary


def test_a_bad_file_lists_its_bad_lines(client, analyst, case):
    client.force_login(analyst)
    upload(client, case, b"email\nnope\n")
    page = client.get(url("case_affected_imports", case)).content.decode()
    assert "1 bad line: nothing was imported." in page
    assert "line 2: &#x27;nope&#x27;: not an e-mail address (no local part)." in page


def test_legal_may_read_but_not_import(client, legal, case):
    client.force_login(legal)
    assert upload(client, case).status_code == 403
    assert AffectedImport.objects.count() == 0


def test_group_claim_and_tell(client, analyst, case):
    client.force_login(analyst)
    upload(client, case)
    r = client.post(url("case_affected_group", case),
                    {"name": "Contoso", "domains": "contoso.com\ncontoso.de"})  # fmt: skip
    assert r.status_code == 302
    org = AffectedOrganization.objects.get(case=case)
    assert sorted(org.domains.values_list("domain", flat=True)) == ["contoso.com", "contoso.de"]
    bad = client.post(url("case_affected_group", case), {"name": "G", "domains": "gmail.com"})
    assert bad.status_code == 400
    assert "gmail.com is a free-mail provider" in bad.content.decode()
    r = client.post(url("case_affected_claim", case),
                    {"level": "organizations", "count": "1", "method": "grouped"})  # fmt: skip
    assert r.status_code == 302
    d = Dispute.objects.get(case=case)
    assert (d.count_level, d.firm_count, d.vendor_count) == ("organizations", 1, None)
    r = client.post(url("case_affected_told", case, org.pk), {"how": "mail", "note": "security@"})
    assert r.status_code == 302
    org.refresh_from_db()
    assert (org.told_how, org.told_by) == ("mail", analyst)


def test_page_queries_are_pinned(client, analyst, case, django_assert_max_num_queries):
    client.force_login(analyst)
    upload(client, case)
    with django_assert_max_num_queries(20):
        assert client.get(url("case_affected", case)).status_code == 200
