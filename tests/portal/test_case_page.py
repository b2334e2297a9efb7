"""What the portal shows: exactly the vendor-visible content, in the page,
the htmx timeline fragment and the downloads; the staff preview shows the
same thing, read-only; a contact of two vendors sees both and acts for the
case's vendor."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse

from disclosure.cases import services
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent
from tests.factories import MembershipFactory, make_case

SECRETS = (
    "SECRET-HOW-FOUND",
    "SECRET-INTERNAL-SUBJECT",
    "SECRET-INTERNAL-BODY",
    "secret-internal.txt",
    "SECRET-HOLD-REASON",
    "Critical",  # severity is the firm's triage
    "Internal note",
    "Legal hold",
)


@pytest.fixture
def busy_case(notified_case, lead):
    """The notified case with a legal hold (internal) on top."""
    services.set_legal_hold(actor=lead, case=notified_case, on=True, reason="SECRET-HOLD-REASON")
    notified_case.refresh_from_db()
    return notified_case


def _page(client, case, **headers):
    return client.get(reverse("portal:case_detail", args=[case.reference]), headers=headers)


def test_the_case_page_shows_the_vendor_side_and_nothing_internal(
    client, vendor_contact, busy_case, shared_evidence
):
    client.force_login(vendor_contact)
    html = _page(client, busy_case).content.decode()
    for secret in SECRETS:
        assert secret not in html, secret
    assert busy_case.title in html
    assert "s3://exposed-bucket" in html  # the shared asset identifier
    assert "<dd>65,000</dd>" in html  # the shared affected-entity count
    assert "Exposed data" in html  # the notice the firm sent
    assert shared_evidence.original_name in html
    assert "Vendor notified" in html
    assert "Acknowledge the notice" in html  # deadlines


def test_the_timeline_fragment_shows_only_vendor_events(client, vendor_contact, busy_case, analyst):
    client.force_login(vendor_contact)
    response = _page(client, busy_case, **{"HX-Request": "true", "HX-Target": "timeline"})
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="timeline"')
    for secret in SECRETS:
        assert secret not in html, secret
    internal_seqs = set(
        CaseEvent.objects.filter(case=busy_case, internal=True).values_list("seq", flat=True)
    )
    assert internal_seqs  # the note, the internal details, the hold
    for seq in internal_seqs:
        assert f'id="event-{seq}"' not in html
    shown = CaseEvent.objects.filter(case=busy_case, internal=False).values_list("seq", flat=True)
    for seq in shown:
        assert f'id="event-{seq}"' in html
    # The firm's people appear as the firm; who works the case is internal.
    assert analyst.display_name() not in html
    assert "Research Firm" in html


def test_downloads_serve_shared_files_only(
    client, vendor_contact, notified_case, shared_evidence, internal_evidence, other_case
):
    client.force_login(vendor_contact)
    url = reverse("portal:evidence_download", args=[notified_case.reference, shared_evidence.pk])
    last = notified_case.events.order_by("-seq").first().seq
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"listing of the exposed container\n"
    assert response["X-Content-Type-Options"] == "nosniff"
    # The download is in the ledger (internal: the vendor's timeline never shows it).
    logged = notified_case.events.get(seq=last + 1)
    assert (logged.kind, logged.internal, logged.actor_snapshot["username"], logged.payload) == (
        "evidence_downloaded", True, vendor_contact.username,
        {"evidence_id": shared_evidence.pk, "sha256": shared_evidence.sha256, "via": "portal"},
    )  # fmt: skip
    counts = (notified_case.events.count(), other_case.events.count())
    for ref, pk in (
        (notified_case.reference, internal_evidence.pk),
        (other_case.reference, other_case.evidence.first().pk),  # another vendor's file
        (notified_case.reference, other_case.evidence.first().pk),  # swapped id
        (other_case.reference, shared_evidence.pk),  # swapped reference
    ):
        assert client.get(reverse("portal:evidence_download", args=[ref, pk])).status_code == 404
    assert (notified_case.events.count(), other_case.events.count()) == counts  # none logged


def test_my_cases_is_exactly_visible_cases(
    client, vendor_contact, notified_case, found_case, other_case, django_assert_max_num_queries
):
    client.force_login(vendor_contact)
    with django_assert_max_num_queries(6):
        html = client.get(reverse("portal:case_list")).content.decode()
    assert notified_case.reference in html
    assert found_case.reference not in html  # not notified yet
    assert other_case.reference not in html
    assert "Fabrikam" not in html


def test_case_list_queries_do_not_grow_with_cases(
    client, vendor_contact, analyst, vendor, django_assert_max_num_queries
):
    for _ in range(5):
        make_case("vendor_notified", actor=analyst, vendor=vendor)
    client.force_login(vendor_contact)
    with django_assert_max_num_queries(6):
        assert client.get(reverse("portal:case_list")).status_code == 200


def test_case_page_queries_are_bounded(
    client, vendor_contact, notified_case, analyst, django_assert_max_num_queries
):
    for i in range(5):
        services.log_communication(
            actor=analyst, case=notified_case, direction="outbound", channel="email",
            sender="a@firm.example", recipients=["s@contoso.example"], body=f"m{i}",
            occurred_at=now() - timedelta(minutes=1),
            attachments=[IncomingFile(name=f"f{i}.txt", stream=io.BytesIO(f"f{i}".encode()))],
        )  # fmt: skip
    client.force_login(vendor_contact)
    with django_assert_max_num_queries(15):  # 14 measured, whatever the records
        assert _page(client, notified_case).status_code == 200


def test_staff_preview_renders_the_same_vendor_view_read_only(
    client, analyst, vendor_contact, busy_case
):
    client.force_login(analyst)
    preview = client.get(reverse("portal:preview", args=[busy_case.reference])).content.decode()
    for secret in SECRETS:
        assert secret not in preview, secret
    assert "Preview:" in preview
    assert "data-action=" not in preview  # read-only: no actions
    assert "/evidence/" not in preview  # nor downloads
    assert "Sign out" not in preview
    client.force_login(vendor_contact)
    own = _page(client, busy_case).content.decode()
    assert own.count('id="event-') == preview.count('id="event-')


def test_staff_preview_of_a_case_the_vendor_cannot_see_yet(client, analyst, found_case):
    client.force_login(analyst)
    response = client.get(reverse("portal:preview", args=[found_case.reference]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "do not see" in html
    assert found_case.title not in html


def test_the_staff_case_page_links_to_the_preview(client, analyst, notified_case):
    client.force_login(analyst)
    html = client.get(notified_case.get_absolute_url()).content.decode()
    assert reverse("portal:preview", args=[notified_case.reference]) in html


def test_a_contact_of_two_vendors_sees_both_and_acts_for_each_cases_vendor(
    client, vendor, other_vendor, notified_case, other_case
):
    contact = MembershipFactory(organization=vendor, role="vendor_contact").user
    MembershipFactory(user=contact, organization=other_vendor, role="vendor_contact")
    client.force_login(contact)
    html = client.get(reverse("portal:case_list")).content.decode()
    assert notified_case.reference in html and other_case.reference in html
    for case, org in ((notified_case, "Contoso"), (other_case, "Fabrikam")):
        response = client.post(
            reverse("portal:case_action", args=[case.reference, "acknowledge"]), {"note": "ok"}
        )
        assert response.status_code == 302
        event = CaseEvent.objects.filter(case=case).latest("seq")
        assert event.kind == "vendor_acknowledged"
        assert event.actor_snapshot["organization"] == org
        assert event.actor_snapshot["role"] == "vendor_contact"


def test_my_cases_pages_through_every_visible_case(
    client, vendor_contact, analyst, vendor, monkeypatch
):
    monkeypatch.setattr("disclosure.portal.views.cases.CASE_LIST_PAGE_SIZE", 2)
    refs = [make_case("vendor_notified", actor=analyst, vendor=vendor).reference for _ in range(3)]
    client.force_login(vendor_contact)
    first = client.get(reverse("portal:case_list")).content.decode()
    second = client.get(reverse("portal:case_list") + "?page=2").content.decode()
    assert sum(ref in first for ref in refs) == 2 and sum(ref in second for ref in refs) == 1
    assert "Page 1 of 2" in first


def test_the_vendor_sees_the_firms_answer_and_the_settlement(
    client, vendor_contact, notified_case, analyst, lead
):
    """Issue 16, item 8: the portal shows each dispute's state."""
    filed = services.file_dispute(actor=vendor_contact, case=notified_case, subject="Count",
                                  firm_position="65,000", firm_provenance="Our count",
                                  vendor_position="Fewer", vendor_provenance="Ours")  # fmt: skip
    client.force_login(vendor_contact)
    assert "Open: awaiting the research firm" in _page(client, notified_case).content.decode()
    services.answer_dispute(actor=analyst, case=notified_case, dispute=filed,
                            answer="ANSWER-TEXT duplicates removed")  # fmt: skip
    services.settle_dispute(actor=lead, case=notified_case, dispute=filed, outcome="accepted",
                            reason="SETTLEMENT-TEXT they were right")  # fmt: skip
    html = _page(client, notified_case).content.decode()
    assert "ANSWER-TEXT duplicates removed" in html
    assert "SETTLEMENT-TEXT they were right" in html
    assert "Settled: accepted" in html


def test_the_vendor_sees_what_the_other_data_is_beside_the_categories(
    client, vendor_contact, notified_case, lead
):
    services.update_details(
        actor=lead,
        case=notified_case,
        changes={"data_categories": ["invoices", "other"], "data_categories_other": "Firmware"},
    )
    client.force_login(vendor_contact)
    html = _page(client, notified_case).content.decode()
    assert "<dt>Data categories</dt><dd>Invoices, Other: Firmware</dd>" in html
    assert "<dt>Other data</dt>" not in html  # not a second time on its own line
