import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from disclosure.accounts.models import Membership, Organization, Role, User
from disclosure.accounts.selectors import can_administer, principal_for
from disclosure.affected.models import Dispute
from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.policies import case_due_dates
from disclosure.cases.stages import CloseReason, Stage
from disclosure.comms.models import Communication, Direction
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now
from disclosure.demo.scripts import BLUEBLEED_TITLE, BLUEBLEED_URL
from disclosure.demo.seed import CASE_SCRIPTS, DEMO_PASSWORD, PEOPLE
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.evidence.storage import open_blob
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_cases
from tests.factories import VendorFactory

pytestmark = pytest.mark.django_db

MODELS = [
    Organization,
    User,
    Membership,
    Case,
    CaseEvent,
    Communication,
    EvidenceFile,
    DeletionAttestation,
    Dispute,
]


@pytest.fixture(autouse=True)
def _demo_settings(settings):
    settings.DEBUG = True
    # The demo sets seven passwords per run; the real hasher would dominate the test time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def test_running_twice_leaves_one_copy_and_intact_chains(settings):
    seed()
    first = counts()
    out = seed()

    assert counts() == first
    assert "0 case(s) created" in out
    assert first["Case"] == len(CASE_SCRIPTS)
    assert first["User"] == len(PEOPLE)
    names = set(Organization.objects.values_list("name", flat=True))
    assert names == {settings.DISCLOSURE_FIRM_NAME, "Contoso", "Fabrikam"}
    reports = list(verify_cases())
    assert len(reports) == len(CASE_SCRIPTS)
    assert all(r.ok and r.events >= 2 for r in reports), reports
    # verify_ledger exits with SystemExit(1) on any broken chain.
    call_command("verify_ledger", stdout=io.StringIO())


def test_demo_users_log_in_with_their_roles(settings):
    seed()
    seed()  # the second run re-sets the passwords; they keep working

    for person in PEOPLE:
        user = User.objects.get(username=person.username)
        assert user.is_active
        assert user.check_password(DEMO_PASSWORD)
        membership = Membership.objects.get(user=user)
        assert membership.role == person.role
        if person.role == Role.VENDOR_CONTACT:
            assert membership.organization.kind == Organization.Kind.VENDOR
        else:
            assert membership.organization.name == settings.DISCLOSURE_FIRM_NAME
            assert principal_for(user).staff_role == person.role
        assert can_administer(user) == (person.role == Role.ADMIN)
    admin = User.objects.get(memberships__role=Role.ADMIN)
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.exclude(pk=admin.pk).filter(is_staff=True).exists()
    contacts = Membership.objects.filter(role=Role.VENDOR_CONTACT)
    assert contacts.filter(organization__name="Contoso").count() == 2
    assert contacts.filter(organization__name="Fabrikam").count() == 1
    assert {r.value for r in Role} == {p.role for p in PEOPLE}


def test_bluebleed_case():
    seed()
    case = Case.objects.get(title=BLUEBLEED_TITLE)

    assert case.vendor.name == "Contoso"
    assert case.stage == Stage.PUBLISHED
    assert (case.asset_provider, case.asset_kind) == ("azure", "blob_container")
    assert case.asset_identifier == BLUEBLEED_URL
    assert case.asset_region
    assert case.volume_bytes == 2_400_000_000_000
    assert (case.affected_entity_count, case.affected_country_count) == (65_000, 111)
    assert case.records_by_kind == {"emails": 335_000, "projects": 133_000, "users": 584_000}
    assert (case.data_from, case.data_to) == (date(2017, 1, 1), date(2022, 9, 24))
    assert case.data_categories == ["contracts", "email_content", "pii"]
    assert (case.severity, case.tlp) == ("critical", "amber")
    same_day = datetime(2022, 9, 24, tzinfo=UTC).date()
    assert case.found_at == datetime(2022, 9, 24, 7, 0, tzinfo=UTC)
    assert case.vendor_notified_at == datetime(2022, 9, 24, 9, 0, tzinfo=UTC)
    for moment in (case.vendor_acknowledged_at, case.secured_at):
        assert moment.date() == same_day
    assert case.found_at < case.vendor_notified_at < case.secured_at
    assert case.data_deleted_at.date() == date(2022, 10, 5)
    assert case.published_at.date() == date(2022, 10, 19)
    assert case.publication_url.startswith("https://") and case.publication_title

    dispute = case.disputes.get()
    assert "65,000" in dispute.subject
    assert "duplicate" in dispute.vendor_position
    assert dispute.firm_provenance and dispute.vendor_provenance and dispute.firm_position

    attestation = case.deletion_attestation
    assert attestation.method in ("purge", "destroy")
    assert attestation.tool and attestation.items
    assert attestation.verified_by is not None
    assert attestation.performed_by != attestation.verified_by
    assert principal_for(attestation.verified_by).is_staff_member
    assert attestation.retained_metadata == ["domain", "company name", "e-mail address"]
    assert attestation.retention_reason

    comms = list(case.communications.all())
    assert {c.direction for c in comms} == set(Direction.values)
    events = {e.payload.get("to"): e for e in case.events.filter(kind=EventKind.STAGE_CHANGED)}
    notice = Communication.objects.get(
        pk=events[Stage.VENDOR_NOTIFIED].payload["notice_communication_id"]
    )
    assert (notice.direction, notice.channel) == (Direction.OUTBOUND, "email")
    secured = events[Stage.SECURED].payload
    confirmation = Communication.objects.get(pk=secured["confirmation_communication_id"])
    assert confirmation.direction == Direction.INBOUND
    assert confirmation.occurred_at <= case.secured_at
    assert secured["evidence"]
    assert [c for c in comms if c.direction == Direction.OUTBOUND and c.pk != notice.pk]

    kinds = {e.kind: e for e in case.evidence.all()}
    assert {"exposure_capture", "screenshot", "retest_result"} <= set(kinds)
    screenshot = kinds["screenshot"]
    assert screenshot.content_type == "image/png"
    with open_blob(screenshot.sha256) as f:
        Image.open(f).verify()


# The ledger of every demo case, event kind by event kind (a trailing "*"
# marks an internal event, never shown to the vendor): the demo is built from
# tables and helpers, and these must keep telling the same story. Every case
# opens with its internal details beside the shared ``case_opened``, and the
# demo's stage notes are internal notes (not shared with the vendor).
OPENED, DETAILS, EVIDENCE, MESSAGE, STAGE, ACK, NOTE = (
    "case_opened",
    "internal_details*",
    "evidence_attached",
    "communication_logged",
    "stage_changed",
    "vendor_acknowledged",
    "note_added*",
)
INTERNAL_MESSAGE = "communication_logged*"
# demo.watchers: the cases the re-probes pick up get a schedule (a demo asset, or paused)
PROBES = "probe_settings_changed*"
LEDGERS = {
    BLUEBLEED_TITLE: (
        Stage.PUBLISHED,
        [
            *[OPENED, DETAILS, EVIDENCE, EVIDENCE, MESSAGE, STAGE, NOTE, MESSAGE, ACK, NOTE],
            *[INTERNAL_MESSAGE, MESSAGE, EVIDENCE, STAGE, NOTE, MESSAGE, EVIDENCE],
            *["deletion_attested", STAGE, NOTE, MESSAGE, STAGE, EVIDENCE, MESSAGE],
            *["dispute_filed", "attestation_countersigned"],
            *[
                "affected_imported",
                "organizations_grouped*",
                "count_claim_filed",
                "count_claim_filed",
            ],
        ],
    ),
    "Elasticsearch index with support tickets open to the internet": (
        Stage.FOUND,
        [OPENED, DETAILS, EVIDENCE, PROBES],
    ),
    "Public S3 bucket with nightly database backups": (
        Stage.VENDOR_NOTIFIED,
        [OPENED, DETAILS, EVIDENCE, EVIDENCE, MESSAGE, STAGE, PROBES],
    ),
    "Azure blob container with HR exports, vendor silent": (
        Stage.VENDOR_NOTIFIED,
        [OPENED, DETAILS, EVIDENCE, MESSAGE, STAGE, PROBES],
    ),
    "Cloud Storage bucket with scanned customer contracts": (
        Stage.SECURED,
        [OPENED, DETAILS, EVIDENCE, MESSAGE, STAGE, MESSAGE, ACK, EVIDENCE, STAGE, PROBES],
    ),
    "Unauthenticated MongoDB with loyalty programme accounts": (
        Stage.DATA_DELETED,
        [OPENED, DETAILS, EVIDENCE, MESSAGE, STAGE, ACK, STAGE, "deletion_attested", STAGE],
    ),
    "Anonymous FTP with customer CSV exports": (
        Stage.CLOSED,
        [OPENED, DETAILS, EVIDENCE, MESSAGE, STAGE, MESSAGE, STAGE, NOTE],
    ),
}


def test_every_case_keeps_its_stage_and_ledger():
    seed()

    assert {s.title for s in CASE_SCRIPTS} == set(LEDGERS)
    for case in Case.objects.all():
        stage, kinds = LEDGERS[case.title]
        assert case.stage == stage, case.title
        events = case.events.order_by("seq").values_list("kind", "internal")
        assert [kind + ("*" if internal else "") for kind, internal in events] == kinds


def test_stage_cases_answer_the_notice_and_secure_by_vendor_or_retest():
    seed()

    secured = Case.objects.get(stage=Stage.SECURED)
    reply = secured.communications.get(direction=Direction.INBOUND)
    notice = secured.communications.get(direction=Direction.OUTBOUND)
    assert reply.subject == f"Re: {notice.subject}"
    assert reply.subject == f"Re: [{secured.reference}] {secured.title}"
    assert reply.sender == secured.vendor.memberships.get().user.email
    assert secured.vendor_notified_at < secured.vendor_acknowledged_at < secured.secured_at
    by_retest = secured.events.get(kind=EventKind.STAGE_CHANGED, payload__to=Stage.SECURED)
    assert by_retest.payload["basis"] == "retest" and by_retest.payload["evidence"]

    deleted = Case.objects.get(stage=Stage.DATA_DELETED)
    by_vendor = deleted.events.get(kind=EventKind.STAGE_CHANGED, payload__milestone=Stage.SECURED)
    assert by_vendor.payload["confirmed_by_vendor_contact"]
    attestation = deleted.deletion_attestation
    assert [i["path"] for i in attestation.items] == ["copies/loyalty/accounts-sample.bson"]
    assert attestation.verified_by.username == "demo-legal"


def test_one_case_at_every_stage_with_both_vendors():
    seed()

    assert {c.stage for c in Case.objects.all()} == set(Stage)
    assert {c.vendor.name for c in Case.objects.select_related("vendor")} == {
        "Contoso",
        "Fabrikam",
    }
    closed = Case.objects.get(stage=Stage.CLOSED)
    assert closed.close_reason in (CloseReason.INVALID, CloseReason.NOT_PUBLISHED)
    close_event = closed.events.get(kind=EventKind.STAGE_CHANGED, payload__to=Stage.CLOSED)
    assert "note" not in close_event.payload  # internal: in its own event
    close_note = closed.events.get(kind=EventKind.NOTE_ADDED, payload__about_seq=close_event.seq)
    assert close_note.internal and close_note.payload["note"]
    notified = Case.objects.get(title="Public S3 bucket with nightly database backups")
    due = case_due_dates(notified)
    assert notified.vendor_notified_at < now() < due.acknowledge


def test_output_lists_logins_and_case_references():
    out = seed()

    for person in PEOPLE:
        assert person.username in out
    assert DEMO_PASSWORD in out
    assert "Vendor contact" in out and "Contoso" in out and "Fabrikam" in out
    for reference in Case.objects.values_list("reference", flat=True):
        assert reference in out


def test_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="--force"):
        seed()
    assert counts() == dict.fromkeys(counts(), 0)

    seed("--force")
    assert Case.objects.count() == len(CASE_SCRIPTS)


def test_a_failure_writes_nothing(monkeypatch):
    def broken_publish(**kwargs):
        raise ValidationFailed("publication failed")

    monkeypatch.setattr(services, "publish", broken_publish)

    with pytest.raises(CommandError, match="publication failed"):
        seed()
    assert counts() == dict.fromkeys(counts(), 0)


def test_reuses_existing_organizations_and_users():
    VendorFactory(name="Contoso", domain="contoso.example")
    User.objects.create_user(username=PEOPLE[0].username, password="something else 123")

    seed()

    assert Organization.objects.filter(name__iexact="contoso").count() == 1
    assert User.objects.get(username=PEOPLE[0].username).check_password(DEMO_PASSWORD)
