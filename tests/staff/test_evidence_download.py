"""Evidence downloads: access-checked, streamed as an attachment under the
original name, with the stored content type and nosniff; 404 for anything
the user may not see, including another case's file."""

from datetime import UTC, datetime

import pytest

from disclosure.cases.models import Case
from disclosure.comms.services import log_communication
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.services import attach_evidence
from tests.factories import capture, make_case

pytestmark = pytest.mark.django_db

CONTENT = b"listing of the exposed container\n"
SHA = "72e51fad527f49e33c380509a5c5ae8ec778cf3c27140bcc8ea8aa5bf524861e"


@pytest.fixture
def case(analyst, vendor):
    return make_case("vendor_notified", actor=analyst, vendor=vendor)


def url(case: Case, evidence: EvidenceFile | int) -> str:
    pk = evidence if isinstance(evidence, int) else evidence.pk
    return f"/cases/{case.reference}/evidence/{pk}/"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


ACCESS = [
    # (who, status)
    ("anonymous", 302),
    ("vendor_contact", 404),  # the staff UI does not exist for vendors (they have the portal)
    ("other_vendor_contact", 404),
    ("outsider", 404),
    ("analyst", 200),
    ("lead", 200),
    ("legal", 200),
    ("admin_user", 200),
]


@pytest.mark.parametrize("who,status", ACCESS)
def test_access_matrix(who, status, client, request, case):
    evidence = case.evidence.get()
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    response = client.get(url(case, evidence))
    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"] == f"/login/?next={url(case, evidence)}"


def test_streams_the_file_as_an_attachment(client, analyst, case):
    evidence = case.evidence.get()
    assert (evidence.sha256, evidence.size) == (SHA, 33)
    client.force_login(analyst)
    response = client.get(url(case, evidence))
    assert response.status_code == 200
    assert response.streaming
    assert body(response) == CONTENT
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == 'attachment; filename="capture.txt"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == "33"


def test_html_is_never_rendered_inline(client, analyst, case):
    evidence = attach_evidence(
        actor=analyst,
        case=case,
        file=capture(b"<html><script>alert(1)</script></html>", name="page.html", kind="other"),
    )
    client.force_login(analyst)
    response = client.get(url(case, evidence))
    assert response["Content-Type"] == "text/plain"  # detected by the server at upload
    assert response["Content-Disposition"] == 'attachment; filename="page.html"'
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "name,disposition",
    [
        ('say "hi".txt', r'attachment; filename="say \"hi\".txt"'),
        ("back\\slash.txt", 'attachment; filename="slash.txt"'),  # the service keeps the base
        ("résumé.pdf", "attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf"),
        ("two\r\nlines.txt", "attachment; filename*=utf-8''two%0D%0Alines.txt"),
        ("tab\there.txt", 'attachment; filename="tab\there.txt"'),
    ],
)
def test_content_disposition_is_safe_for_any_name(name, disposition, client, analyst, case):
    evidence = attach_evidence(
        actor=analyst, case=case, file=capture(name.encode() + b" content", name=name)
    )
    client.force_login(analyst)
    response = client.get(url(case, evidence))
    assert response.status_code == 200
    assert response["Content-Disposition"] == disposition
    assert body(response) == name.encode() + b" content"


def test_another_cases_evidence_is_404(client, analyst, vendor, case):
    other = make_case(
        "found", actor=analyst, vendor=vendor, exposure_evidence=[capture(b"other case's file")]
    )
    foreign = other.evidence.get()
    client.force_login(analyst)
    assert client.get(url(other, foreign)).status_code == 200
    assert client.get(url(case, foreign)).status_code == 404


def test_unknown_ids_and_references_are_404(client, analyst, case):
    client.force_login(analyst)
    assert client.get(url(case, 999999)).status_code == 404
    assert client.get("/cases/DSC-2026-9999/evidence/1/").status_code == 404
    assert client.get(f"/cases/{case.reference}/evidence/abc/").status_code == 404


def test_internal_attachments_download_for_staff(client, analyst, case):
    log_communication(
        actor=analyst,
        case=case,
        direction="internal",
        channel="other",
        sender="analyst@firm.example",
        recipients=[],
        body="Our notes.",
        occurred_at=datetime.now(UTC),
        attachments=[capture(b"internal notes file", name="notes.txt", kind="attachment")],
    )
    internal = EvidenceFile.objects.get(case=case, original_name="notes.txt")
    assert internal.internal is True
    client.force_login(analyst)
    response = client.get(url(case, internal))
    assert body(response) == b"internal notes file"


def test_a_missing_blob_is_refused_not_500(client, analyst, case, _private_storage):
    evidence = case.evidence.get()
    from disclosure.evidence.storage import evidence_storage

    evidence_storage().delete(evidence.storage_name)
    client.force_login(analyst)
    response = client.get(url(case, evidence))
    assert (response.status_code, response["Location"]) == (
        302,
        f"/cases/{case.reference}/#evidence",
    )  # with the error, and an integrity alarm (tests/evidence/test_integrity.py)


def test_query_count(client, analyst, case, django_assert_max_num_queries):
    evidence = case.evidence.get()
    client.force_login(analyst)
    # session, user, memberships, case, evidence row; then the ledger entry:
    # lock the case (with its policy), its last event, the new event, the
    # row's head, the savepoints around them; the access-audit row (issue 20)
    with django_assert_max_num_queries(12):
        response = client.get(url(case, evidence))
    assert body(response) == CONTENT


def test_each_download_is_logged_in_the_ledger(client, analyst, lead, case):
    from disclosure.ledger.verify import verify_case

    evidence = case.evidence.get()
    before = case.events.count()
    for user in (analyst, lead):
        client.force_login(user)
        assert body(client.get(url(case, evidence))) == CONTENT
    logged = list(case.events.filter(seq__gt=before).order_by("seq"))
    assert [(e.kind, e.internal, e.actor_snapshot["username"], e.payload) for e in logged] == [
        ("evidence_downloaded", True, analyst.username,
         {"evidence_id": evidence.pk, "sha256": evidence.sha256, "via": "staff"}),
        ("evidence_downloaded", True, lead.username,
         {"evidence_id": evidence.pk, "sha256": evidence.sha256, "via": "staff"}),
    ]  # fmt: skip
    assert verify_case(case).ok


def test_a_refused_download_logs_nothing(client, analyst, case, other_vendor):
    other = make_case("vendor_notified", actor=analyst, vendor=other_vendor)
    evidence = other.evidence.first()
    before = (case.events.count(), other.events.count())
    client.force_login(analyst)
    assert client.get(url(case, evidence)).status_code == 404  # another case's file
    assert (case.events.count(), other.events.count()) == before
