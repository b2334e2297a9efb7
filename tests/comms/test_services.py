"""The communication log: what may be logged by whom, what the ledger keeps,
and that vendors never see internal notes."""

import hashlib
import io
import json
from datetime import UTC, timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.selectors import communications_for, events_for
from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.core.errors import InvalidTimestamp, NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db

BODY = "Hi — we secured the container at 09:14 UTC. Regards, Contoso PSIRT"


@pytest.fixture
def case(lead, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)


def message(**changes):
    return {
        "direction": "inbound",
        "channel": "email",
        "sender": "psirt@contoso.example",
        "recipients": ["research@firm.example"],
        "subject": "Re: exposure",
        "body": BODY,
        "occurred_at": now() - timedelta(minutes=10),
        **changes,
    }


def written(case):
    return (
        Communication.objects.filter(case=case).count(),
        EvidenceFile.objects.filter(case=case).count(),
        list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True)),
    )


def spec_fingerprint(comm) -> str:
    """The fingerprint of a communication, written out from the issue: every
    field that carries meaning, in canonical JSON, with its type."""

    def t(value):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    body = {
        "type": "communication",
        "id": comm.pk,
        "case_id": comm.case_id,
        "direction": comm.direction,
        "channel": comm.channel,
        "sender": comm.sender,
        "recipients": comm.recipients,
        "subject": comm.subject,
        "body": comm.body,
        "body_sha256": comm.body_sha256,
        "occurred_at": t(comm.occurred_at),
        "logged_by_id": comm.logged_by_id,
        "logged_at": t(comm.logged_at),
        "attachments": sorted(comm.attachments.values_list("pk", flat=True)),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_log_communication_writes_the_row_and_an_event_with_the_body_hash(case, analyst):
    comm = services.log_communication(actor=analyst, case=case, **message())
    comm.refresh_from_db()
    assert (comm.direction, comm.channel, comm.sender) == (
        "inbound",
        "email",
        "psirt@contoso.example",
    )
    assert comm.body == BODY
    assert comm.body_sha256 == hashlib.sha256(BODY.encode("utf-8")).hexdigest()
    assert comm.logged_by == analyst
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == EventKind.COMMUNICATION_LOGGED
    assert event.internal is False
    assert event.occurred_at == comm.occurred_at
    assert event.payload == {
        "communication_id": comm.pk,
        "direction": "inbound",
        "channel": "email",
        "sender": "psirt@contoso.example",
        "recipients": ["research@firm.example"],
        "subject": "Re: exposure",
        "body_sha256": comm.body_sha256,
        "attachments": [],
        "record": {"type": "communication", "id": comm.pk, "fingerprint": spec_fingerprint(comm)},
    }
    assert "secured the container" not in json.dumps(event.payload)
    assert verify_case(case).ok


@pytest.mark.parametrize(
    ("changes", "field", "match"),
    [
        ({"direction": "sideways"}, "direction", "Unknown direction"),
        ({"channel": "carrier_pigeon"}, "channel", "Unknown channel"),
        ({"sender": "  "}, "sender", "who sent it"),
        ({"recipients": []}, "recipients", "to whom"),
        ({"recipients": [" ", None]}, "recipients", "to whom"),
        ({"subject": " ", "body": "  "}, "body", "subject, a body or an attachment"),
        ({"subject": "s" * 501}, "subject", "longer than 500"),
        ({"sender": "a" * 309 + "@contoso.example"}, "sender", "longer than 320"),
    ],
)
def test_log_communication_refusals(changes, field, match, case, analyst):
    before = written(case)
    with pytest.raises(ValidationFailed, match=match) as exc:
        services.log_communication(actor=analyst, case=case, **message(**changes))
    assert exc.value.field == field
    assert written(case) == before


@pytest.mark.parametrize(
    ("occurred_at", "match"),
    [
        (lambda: now() + timedelta(hours=1), "in the future"),
        (lambda: now().replace(tzinfo=None), "time zone"),
        (lambda: None, "Say when"),
    ],
    ids=["future", "naive", "missing"],
)
def test_log_communication_time_rules(occurred_at, match, case, analyst):
    before = written(case)
    with pytest.raises(InvalidTimestamp, match=match):
        services.log_communication(actor=analyst, case=case, **message(occurred_at=occurred_at()))
    assert written(case) == before


def test_vendor_contact_logs_inbound_messages(case, vendor_contact):
    comm = services.log_communication(actor=vendor_contact, case=case, **message(channel="portal"))
    assert comm.logged_by == vendor_contact
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.actor_snapshot["role"] == "vendor_contact"


@pytest.mark.parametrize("direction", ["outbound", "internal"])
def test_vendor_contact_cannot_log_outbound_or_internal(direction, case, vendor_contact):
    before = written(case)
    with pytest.raises(ValidationFailed, match="only log messages they send") as exc:
        services.log_communication(actor=vendor_contact, case=case, **message(direction=direction))
    assert exc.value.field == "direction"
    assert written(case) == before


@pytest.mark.parametrize("fixture", ["legal", "other_vendor_contact", "outsider"])
def test_others_cannot_log(fixture, request, case):
    actor = request.getfixturevalue(fixture)
    before = written(case)
    # Legal sees the case (403); the others may not even know it exists (404).
    expected = (
        (NotPermitted, "log a communication") if fixture == "legal" else (NotFound, "No such")
    )
    with pytest.raises(expected[0], match=expected[1]):
        services.log_communication(actor=actor, case=case, **message())
    assert written(case) == before


def test_vendor_contact_cannot_log_on_a_case_not_yet_notified(lead, vendor, vendor_contact):
    hidden = make_case(Stage.FOUND, actor=lead, vendor=vendor)
    with pytest.raises(NotFound):
        services.log_communication(actor=vendor_contact, case=hidden, **message())


def test_internal_note_needs_no_recipient_and_is_an_internal_event(case, lead):
    note = services.log_communication(
        actor=lead,
        case=case,
        **message(direction="internal", channel="other", recipients=[], body="Call legal first."),
    )
    assert note.is_internal
    assert note.recipients == []
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert (event.kind, event.internal) == (EventKind.COMMUNICATION_LOGGED, True)
    assert verify_case(case).ok


def test_attachments_are_stored_as_evidence_of_kind_attachment(case, analyst):
    files = [
        IncomingFile(
            "reply.eml", io.BytesIO(b"From: psirt\n\nfixed"), kind=EvidenceKind.SCREENSHOT
        ),
        IncomingFile("proof.txt", io.BytesIO(b"HTTP/1.1 403 Forbidden")),
    ]
    comm = services.log_communication(
        actor=analyst, case=case, **message(subject="", body="", attachments=files)
    )
    attached = list(comm.attachments.order_by("original_name"))
    assert [(e.original_name, e.kind) for e in attached] == [
        ("proof.txt", EvidenceKind.ATTACHMENT),
        ("reply.eml", EvidenceKind.ATTACHMENT),
    ]
    hashes = sorted(e.sha256 for e in attached)
    assert hashes == sorted(
        hashlib.sha256(d).hexdigest() for d in (b"From: psirt\n\nfixed", b"HTTP/1.1 403 Forbidden")
    )
    logged = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert logged.payload["attachments"] == hashes
    kinds = list(
        CaseEvent.objects.filter(case=case).order_by("-seq").values_list("kind", flat=True)[:3]
    )
    assert kinds == [
        EventKind.COMMUNICATION_LOGGED,
        EventKind.EVIDENCE_ATTACHED,
        EventKind.EVIDENCE_ATTACHED,
    ]


def test_a_bad_attachment_logs_nothing(case, analyst):
    before = written(case)
    with pytest.raises(ValidationFailed, match="empty"):
        services.log_communication(
            actor=analyst,
            case=case,
            **message(
                attachments=[
                    IncomingFile("ok.txt", io.BytesIO(b"fine")),
                    IncomingFile("empty.txt", io.BytesIO(b"")),
                ]
            ),
        )
    assert written(case) == before


# --- what each reader sees ----------------------------------------------------


@pytest.fixture
def with_note(case, lead):
    services.log_communication(actor=lead, case=case, **message())
    services.log_communication(
        actor=lead,
        case=case,
        **message(
            direction="internal",
            channel="other",
            recipients=[],
            subject="Strategy",
            body="Do not mention the second bucket yet.",
            attachments=[IncomingFile("legal-advice.txt", io.BytesIO(b"privileged advice"))],
        ),
    )
    return case


def test_vendor_contact_never_sees_internal_notes(with_note, vendor_contact):
    comms = list(communications_for(vendor_contact, with_note))
    assert [c.direction for c in comms] == ["outbound", "inbound"]
    events = list(events_for(vendor_contact, with_note))
    assert all(not e.internal for e in events)
    visible = json.dumps([e.payload for e in events])
    assert "Strategy" not in visible
    assert "legal-advice.txt" not in visible
    assert hashlib.sha256(b"privileged advice").hexdigest() not in visible
    # The vendor's view has gaps in seq where internal events are.
    all_seqs = set(CaseEvent.objects.filter(case=with_note).values_list("seq", flat=True))
    assert {e.seq for e in events} < all_seqs


@pytest.mark.parametrize("fixture", ["analyst", "lead", "legal", "admin_user"])
def test_staff_see_internal_notes(fixture, request, with_note):
    user = request.getfixturevalue(fixture)
    comms = list(communications_for(user, with_note))
    assert [c.direction for c in comms] == ["outbound", "inbound", "internal"]
    assert comms[-1].attachments.get().original_name == "legal-advice.txt"
    events = list(events_for(user, with_note))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert any(e.internal for e in events)


@pytest.mark.parametrize("fixture", ["other_vendor_contact", "outsider"])
def test_readers_who_may_not_see_the_case_read_nothing(fixture, request, with_note):
    user = request.getfixturevalue(fixture)
    assert list(communications_for(user, with_note)) == []
    assert list(events_for(user, with_note)) == []


def test_vendor_reads_nothing_before_being_notified(lead, vendor, vendor_contact):
    hidden = make_case(Stage.FOUND, actor=lead, vendor=vendor)
    services.log_communication(
        actor=lead, case=hidden, **message(direction="internal", recipients=[])
    )
    assert list(communications_for(vendor_contact, hidden)) == []
    assert list(events_for(vendor_contact, hidden)) == []


def test_reply_quoting_an_earlier_attachment_reuses_the_evidence(case, analyst):
    first = services.log_communication(
        actor=analyst,
        case=case,
        **message(attachments=[IncomingFile("notice.pdf", io.BytesIO(b"%PDF-1.4 notice"))]),
    )
    reply = services.log_communication(
        actor=analyst,
        case=case,
        **message(
            subject="Re: Re: exposure",
            attachments=[IncomingFile("quoted.pdf", io.BytesIO(b"%PDF-1.4 notice"))],
        ),
    )
    assert list(reply.attachments.all()) == list(first.attachments.all())
    assert EvidenceFile.objects.filter(case=case, kind=EvidenceKind.ATTACHMENT).count() == 1
    assert verify_case(case).ok


def test_communication_cannot_predate_the_finding(case, analyst):
    with pytest.raises(InvalidTimestamp, match="when the exposure was found"):
        services.log_communication(
            actor=analyst, case=case, **message(occurred_at=case.found_at - timedelta(days=1))
        )
    assert not Communication.objects.filter(case=case, subject="Re: exposure").exists()


def test_recipients_must_be_a_list(case, analyst):
    with pytest.raises(ValidationFailed, match="list") as exc:
        services.log_communication(
            actor=analyst, case=case, **message(recipients="research@firm.example")
        )
    assert exc.value.field == "recipients"


@pytest.mark.parametrize(
    "recipients",
    [
        ["r" * 1000 + "@firm.example"],  # one address longer than any address
        [f"user{i}@firm.example" for i in range(501)],  # more than 500
        ["x" * 1_000_000] * 10,  # 10 MB
        [f"{i:0999d}" for i in range(10_000)],  # 10 MB in short items
    ],
)
def test_a_huge_recipients_list_is_refused(case, analyst, settings, recipients):
    """A 10 MB recipients list was accepted: each item only had to be
    shorter than the longest note (finding 15.14)."""
    settings.DISCLOSURE_MAX_TEXT_CHARS = 2_000_000
    with pytest.raises(ValidationFailed, match="recipient") as exc:
        services.log_communication(actor=analyst, case=case, **message(recipients=recipients))
    assert exc.value.field == "recipients"
    assert not Communication.objects.filter(case=case, subject="Re: exposure").exists()


def test_a_long_but_plausible_recipients_list_is_accepted(case, analyst):
    recipients = [f"Contact {i} <contact{i}@contoso.example>" for i in range(500)]
    comm = services.log_communication(actor=analyst, case=case, **message(recipients=recipients))
    assert len(comm.recipients) == 500


def test_files_of_internal_notes_are_hidden_from_vendors_until_shared(case, lead, vendor_contact):
    from disclosure.cases.selectors import evidence_for

    def upload():
        return [IncomingFile("draft.txt", io.BytesIO(b"draft advisory, internal"))]

    services.log_communication(
        actor=lead,
        case=case,
        **message(direction="internal", channel="other", recipients=[], attachments=upload()),
    )
    draft = EvidenceFile.objects.get(case=case, original_name="draft.txt")
    assert draft.internal
    assert draft not in evidence_for(vendor_contact, case)
    assert draft in evidence_for(lead, case)
    # Sent to the vendor later: from then on it is theirs to see too.
    services.log_communication(
        actor=lead,
        case=case,
        **message(
            direction="outbound",
            sender="research@firm.example",
            recipients=["psirt@contoso.example"],
            attachments=upload(),
        ),
    )
    draft.refresh_from_db()
    assert not draft.internal and draft in evidence_for(vendor_contact, case)
