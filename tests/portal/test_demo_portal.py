"""The demo: a Contoso contact signs in to the portal with the printed
login, works the demo cases and sees nothing of Fabrikam's; seed_demo
prints the portal's address and logins."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from disclosure.cases.models import Case
from disclosure.core.timeutils import now
from disclosure.demo.seed import DEMO_PASSWORD
from disclosure.evidence.models import DeletionAttestation


@pytest.fixture
def seeded(db):
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


def test_seed_demo_prints_the_portal_and_its_logins(seeded):
    assert "Vendor portal: http://127.0.0.1:8000/portal/login/" in seeded
    portal_part = seeded.split("Vendor portal:")[1].split("Demo cases:")[0]
    for username in ("demo-contoso-alex", "demo-contoso-dana", "demo-fabrikam-rui"):
        assert username in portal_part
    assert "demo-analyst" not in portal_part


def test_a_contoso_contact_works_the_demo_cases(client, seeded):
    response = client.post(
        reverse("portal:login"), {"username": "demo-contoso-alex", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302
    html = client.get(reverse("portal:case_list")).content.decode()
    contoso = Case.objects.filter(vendor__name="Contoso", vendor_notified_at__isnull=False)
    fabrikam = Case.objects.filter(vendor__name="Fabrikam")
    assert contoso.count() == 3
    for case in contoso:
        assert case.reference in html
        page = client.get(reverse("portal:case_detail", args=[case.reference]))
        assert page.status_code == 200
        assert "Fabrikam" not in page.content.decode()
    for case in fabrikam:
        assert case.reference not in html
        assert client.get(reverse("portal:case_detail", args=[case.reference])).status_code == 404
    assert "Fabrikam" not in html

    # The notified case: acknowledge it and confirm it secured.
    notified = contoso.get(stage="vendor_notified")
    url = reverse("portal:case_action", args=[notified.reference, "acknowledge"])
    assert client.post(url, {"note": "Seen."}).status_code == 302
    url = reverse("portal:case_action", args=[notified.reference, "secure"])
    data = {"occurred_at": now().strftime("%Y-%m-%dT%H:%M"), "note": "Closed.", "confirm": "on"}
    assert client.post(url, data).status_code == 302
    assert Case.objects.get(pk=notified.pk).stage == "secured"

    # The deleted case waits for the vendor's countersignature.
    deleted = contoso.get(stage="data_deleted")
    attestation = DeletionAttestation.objects.get(case=deleted)
    assert attestation.countersigned_at is None
    url = reverse("portal:case_action", args=[deleted.reference, "countersign_attestation"])
    data = {"name": "Alex Chen", "title": "PSIRT lead", "statement": "Received.", "confirm": "on"}
    assert client.post(url, data).status_code == 302
    attestation.refresh_from_db()
    assert attestation.countersigned_by.username == "demo-contoso-alex"
