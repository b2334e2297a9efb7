"""Staff UI of exports: the case page's Exports section, the request form,
the list with status and SHA-256, and the access-checked download that the
ledger records; the demo's legal user exports the BlueBleed case."""

import io

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from disclosure.core.hashing import sha256_hex
from disclosure.exports import render, verifier
from disclosure.exports.models import Export, ExportStatus
from disclosure.ledger.models import EventKind
from tests.exports.rich_case import *  # noqa: F403
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(lead, vendor, export_storage):
    return make_case("vendor_notified", actor=lead, vendor=vendor)


def exports_url(case):
    return f"/cases/{case.reference}/exports/"


def post_export(client, case, capture, **data):
    form = {"format": "pdf", "variant": "full", "communications": "full", **data}
    with capture(execute=True):
        return client.post(exports_url(case), form)


# Written out by hand. Staff UI: anonymous to the sign-in page, non-staff 404.
ACCESS = [
    ("anonymous", 302),
    ("vendor_contact", 404),
    ("other_vendor_contact", 404),
    ("outsider", 404),
    ("analyst", 403),
    ("lead", 200),
    ("legal", 200),
    ("admin_user", 200),
]


@pytest.mark.parametrize(("who", "status"), ACCESS)
def test_exports_page_access(who, status, client, request, case):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    assert client.get(exports_url(case)).status_code == status
    form = {"format": "json", "variant": "full", "communications": "full"}
    response = client.post(exports_url(case), form)
    assert response.status_code == (302 if status == 200 else status)
    assert Export.objects.exists() is (status == 200)


@pytest.mark.parametrize(("who", "shown"), [("analyst", False), ("legal", True), ("lead", True)])
def test_the_case_page_links_the_exports_tab_for_who_may_export(who, shown, client, request, case):
    """The Exports tab is the case's exports page (its own URL), linked from
    every tab for who may export."""
    client.force_login(request.getfixturevalue(who))
    html = client.get(case.get_absolute_url()).content.decode()
    assert (f'<a href="{exports_url(case)}" data-tab="exports">Exports</a>' in html) is shown
    page = client.get(exports_url(case))
    assert page.status_code == (200 if shown else 403)
    if shown:
        assert f'action="{exports_url(case)}"' in page.content.decode()


def test_a_legal_user_requests_follows_and_downloads_an_export(
    client, legal, case, django_capture_on_commit_callbacks
):
    client.force_login(legal)
    response = post_export(
        client, case, django_capture_on_commit_callbacks, variant="vendor", communications="excerpt"
    )
    assert response.status_code == 302
    assert response["Location"] == exports_url(case)
    export = Export.objects.get()
    assert (export.requested_by, export.variant, export.communications) == (
        legal, "vendor", "excerpt",
    )  # fmt: skip
    assert export.status == ExportStatus.DONE
    page = client.get(exports_url(case)).content.decode()
    assert export.sha256 in page and f"/exports/{export.pk}/download/" in page
    response = client.get(f"{exports_url(case)}{export.pk}/download/")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert sha256_hex(data) == export.sha256
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert f'filename="{export.download_name}"' in response["Content-Disposition"]
    last = case.events.order_by("-seq").first()
    assert last.kind == EventKind.EXPORT_DOWNLOADED and last.actor == legal


def test_the_list_shows_progress_and_polls_while_rendering(client, legal, case):
    from disclosure.exports import services

    client.force_login(legal)
    export = services.request_export(actor=legal, case=case)  # on_commit not run: queued
    Export.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, progress=37)
    response = client.get(exports_url(case), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="exports-list")
    html = response.content.decode()
    assert 'id="exports-list"' in html and 'hx-trigger="every 2s"' in html
    assert 'value="37"' in html and "Rendering" in html and "<html" not in html
    # Not ready: no download link, and the download URL says why.
    assert "/download/" not in html
    response = client.get(f"{exports_url(case)}{export.pk}/download/", follow=True)
    assert "has no file" in response.content.decode()


def test_the_list_shows_the_requested_time_in_the_cases_zone_with_utc_beside(
    client, lead, vendor, legal, export_storage
):
    from datetime import UTC, datetime

    from disclosure.exports import services

    case = make_case("vendor_notified", actor=lead, vendor=vendor, time_zone="Europe/Berlin")
    client.force_login(legal)
    export = services.request_export(actor=legal, case=case)
    requested = datetime(2026, 11, 23, 10, 5, 30, tzinfo=UTC)
    Export.objects.filter(pk=export.pk).update(requested_at=requested)
    html = client.get(exports_url(case)).content.decode()
    assert (
        '<time datetime="2026-11-23T10:05:30Z" class="case-time">2026-11-23 11:05 CET '
        '<span class="utc">(2026-11-23 10:05 UTC)</span></time>'
    ) in html


def test_a_failed_export_shows_its_reason(
    client, legal, case, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(bundle, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(render, "render_pdf", broken)
    client.force_login(legal)
    response = post_export(client, case, django_capture_on_commit_callbacks)
    page = client.get(response["Location"]).content.decode()
    assert "RuntimeError: renderer crashed" in page
    assert 'hx-trigger="every' not in client.get(exports_url(case)).content.decode()  # no polling


def test_bad_options_are_form_errors_and_change_nothing(client, legal, case):
    client.force_login(legal)
    before = case.events.count()
    response = client.post(exports_url(case), {"format": "docx", "variant": "full"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert case.events.count() == before and not Export.objects.exists()


def test_another_cases_export_is_404(
    client, legal, lead, vendor, case, django_capture_on_commit_callbacks
):
    client.force_login(legal)
    post_export(client, case, django_capture_on_commit_callbacks)
    other = make_case("vendor_notified", actor=lead, vendor=vendor)
    export = Export.objects.get()
    assert client.get(f"{exports_url(other)}{export.pk}/download/").status_code == 404
    assert client.get(f"{exports_url(case)}{export.pk + 99}/download/").status_code == 404


def test_an_analyst_may_not_download(
    client, legal, analyst, case, django_capture_on_commit_callbacks
):
    client.force_login(legal)
    post_export(client, case, django_capture_on_commit_callbacks)
    export = Export.objects.get()
    client.force_login(analyst)
    assert client.get(f"{exports_url(case)}{export.pk}/download/").status_code == 403


def test_the_exports_page_lists_with_bounded_queries(
    client, legal, case, django_assert_max_num_queries
):
    from disclosure.exports import services

    for _ in range(5):
        services.request_export(actor=legal, case=case)
    client.force_login(legal)
    with django_assert_max_num_queries(12):
        response = client.get(exports_url(case))
    assert response.content.decode().count('id="export-') == 5


def test_demo_legal_exports_bluebleed_and_verifies_it(
    client, export_storage, settings, tmp_path, django_capture_on_commit_callbacks
):
    """Must show: from the demo, Jonas (legal) signs in, exports the
    BlueBleed-modelled case and downloads it; verify_export passes on the
    signed PDF, and fails after any one byte is flipped."""
    from disclosure.cases.models import Case
    from disclosure.demo.scripts import BLUEBLEED_TITLE
    from disclosure.demo.seed import DEMO_PASSWORD
    from disclosure.exports import signing

    call_command("seed_demo", "--force", stdout=io.StringIO())
    certs = signing.make_development_certificates(tmp_path / "certs", organization="Research Firm")
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(certs.signing_key)
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = str(certs.signing_cert)
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = str(certs.ca_cert)
    case = Case.objects.get(title=BLUEBLEED_TITLE)
    assert client.login(username="demo-legal", password=DEMO_PASSWORD)
    assert 'id="exports"' in client.get(exports_url(case)).content.decode()
    post_export(client, case, django_capture_on_commit_callbacks)
    export = Export.objects.get(case=case)
    assert export.status == ExportStatus.DONE and export.signed, export.error
    response = client.get(f"/cases/{case.reference}/exports/{export.pk}/download/")
    data = b"".join(response.streaming_content)
    pdf = tmp_path / "bluebleed.pdf"
    pdf.write_bytes(data)
    assert case.reference in PdfReader(pdf).pages[0].extract_text()
    assert verifier.main([str(pdf), "--trust", str(certs.ca_cert)]) == 0
    for offset in (len(data) // 3, len(data) // 2, len(data) - 200):
        flipped = tmp_path / f"flipped-{offset}.pdf"
        flipped.write_bytes(data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :])
        assert verifier.main([str(flipped), "--trust", str(certs.ca_cert)]) != 0
