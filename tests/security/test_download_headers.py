"""Every download, staff, portal and API, evidence and exports alike, is an
attachment with ``nosniff`` and the sandboxing policy
``Content-Security-Policy: default-src 'none'; sandbox``: a file opened from
the browser's downloads or by a direct visit runs no script and loads
nothing, whatever its content type claims."""

import pytest
from rest_framework.test import APIClient

from disclosure.evidence.models import EvidenceFile
from disclosure.exports.models import Export, ExportStatus
from disclosure.tokens import services as tokens
from tests.exports.rich_case import export_storage  # noqa: F401 - fixture
from tests.factories import make_case

pytestmark = pytest.mark.django_db

SANDBOX = "default-src 'none'; sandbox"


@pytest.fixture
def case(analyst, lead, vendor, export_storage):  # noqa: F811
    return make_case("vendor_notified", actor=analyst, vendor=vendor, lead=lead)


@pytest.fixture
def shared_file(case) -> EvidenceFile:
    """The exposure capture, which the vendor may see."""
    return EvidenceFile.objects.filter(case=case, internal=False).order_by("pk").first()


@pytest.fixture
def api_as():
    def make(user) -> APIClient:
        issued = tokens.create_token(user=user, name="headers test", scope="read_write", days=1)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        return client

    return make


def assert_sandboxed(response) -> None:
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == SANDBOX


def test_staff_evidence_download(client, analyst, case, shared_file):
    client.force_login(analyst)
    assert_sandboxed(client.get(f"/cases/{case.reference}/evidence/{shared_file.pk}/"))


def test_portal_evidence_download(client, vendor_contact, case, shared_file):
    client.force_login(vendor_contact)
    assert_sandboxed(client.get(f"/portal/cases/{case.reference}/evidence/{shared_file.pk}/"))


def test_api_evidence_download(api_as, analyst, case, shared_file):
    url = f"/api/v1/cases/{case.reference}/evidence/{shared_file.pk}/download/"
    assert_sandboxed(api_as(analyst).get(url))


@pytest.fixture
def export(client, legal, case, django_capture_on_commit_callbacks) -> Export:
    client.force_login(legal)
    form = {"format": "json", "variant": "full", "communications": "full"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/cases/{case.reference}/exports/", form).status_code == 302
    client.logout()
    done = Export.objects.get()
    assert done.status == ExportStatus.DONE
    return done


def test_staff_export_download(client, legal, case, export):
    client.force_login(legal)
    assert_sandboxed(client.get(f"/cases/{case.reference}/exports/{export.pk}/download/"))


def test_api_export_download(api_as, legal, case, export):
    url = f"/api/v1/cases/{case.reference}/exports/{export.pk}/download/"
    assert_sandboxed(api_as(legal).get(url))


def test_pages_keep_the_site_policy_not_the_sandbox(client, analyst, case):
    """The sandbox is the downloads' own: the case page has the site's
    policy (scripts and styles from the site only, nothing inline)."""
    client.force_login(analyst)
    header = client.get(case.get_absolute_url())["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def test_the_access_audit_csv_is_sandboxed_too(client, admin_user):
    """A download built without core.responses (a streamed CSV) gets the
    same headers from the site's middleware."""
    client.force_login(admin_user)
    response = client.get("/settings/access.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert_sandboxed(response)


def test_any_attachment_is_sandboxed_by_the_middleware(rf):
    from django.http import HttpResponse

    from disclosure.core.middleware import DownloadSandboxMiddleware

    def view(request):
        response = HttpResponse(b"<script>alert(1)</script>", content_type="text/html")
        response["Content-Disposition"] = 'Attachment; filename="x.html"'
        return response

    response = DownloadSandboxMiddleware(view)(rf.get("/"))
    assert response["Content-Security-Policy"] == SANDBOX
    assert response["X-Content-Type-Options"] == "nosniff"
    page = DownloadSandboxMiddleware(lambda request: HttpResponse(b"<p>page</p>"))(rf.get("/"))
    assert "Content-Security-Policy" not in page
