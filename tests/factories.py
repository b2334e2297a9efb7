"""factory_boy factories, and ``make_case`` which builds a case at any stage
through the real services (so every test case has a valid ledger)."""

import io
from datetime import timedelta

import factory

from disclosure.accounts.models import Membership, Organization, User
from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.stages import STAGE_ORDER, CloseReason, Stage
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class FirmFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = "Research Firm"
    kind = Organization.Kind.FIRM


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Vendor {n}")
    kind = Organization.Kind.VENDOR
    domain = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "") + ".example")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(FirmFactory)
    role = "analyst"


def capture(
    content: bytes = b"listing of the exposed container\n",
    name: str = "capture.txt",
    kind: str = EvidenceKind.EXPOSURE_CAPTURE,
) -> IncomingFile:
    return IncomingFile(name=name, stream=io.BytesIO(content), kind=kind)


SHA = "a" * 64


def deletion_kwargs(actor, verifier, performed_at):
    return {
        "items": [{"path": "copies/container.tar", "bytes": 1024, "sha256": SHA}],
        "method": "purge",
        "tool": "shred 9.1",
        "performed_by": actor,
        "performed_at": performed_at,
        "verified_by": verifier,
        "verification": "Checked the volume; no file remains.",
        "retained_metadata": ["domain", "company name"],
        "retention_reason": "To answer affected companies' questions.",
    }


def make_case(
    stage: str = Stage.FOUND, *, actor, vendor, lead=None, verifier=None, start=None, **open_kwargs
) -> Case:
    """A case walked through the real services up to ``stage``.

    Stage times are one hour apart, starting ``start`` (default: ten days ago).
    ``lead`` closes the case and ``verifier`` verifies deletion; both default
    to ``actor`` where the rules allow.
    """
    start = start or now() - timedelta(days=10)
    times = {s: start + timedelta(hours=i) for i, s in enumerate(STAGE_ORDER)}
    target = STAGE_ORDER.index(Stage(stage))
    kwargs = {
        "title": "Exposed bucket",
        "asset_provider": "aws",
        "asset_kind": "s3_bucket",
        "asset_identifier": "s3://exposed-bucket",
        "how_found": "Scanner hit",
        "found_at": times[Stage.FOUND],
        "exposure_evidence": [capture()],
        **open_kwargs,
    }
    case = services.open_case(actor=actor, vendor=vendor, **kwargs)
    for s in STAGE_ORDER[1 : target + 1]:
        mover = (lead or actor) if s == Stage.CLOSED else actor
        case = advance(case, s, actor=mover, verifier=verifier, at=times[s])
    return case


def notify_kwargs(at, **changes) -> dict:
    """Minimal valid input for ``services.notify_vendor`` at ``at``;
    ``changes`` replace or add arguments."""
    return {
        "occurred_at": at,
        "channel": "email",
        "sender": "research@firm.example",
        "recipients": ["security@vendor.example"],
        "subject": "Exposed data",
        "body": "We found your bucket open.",
        **changes,
    }


def publish_kwargs(at, **changes) -> dict:
    """Minimal valid input for ``services.publish`` at ``at``; ``changes``
    replace or add arguments (an ``override_justification``, say)."""
    return {
        "occurred_at": at,
        "url": "https://firm.example/advisory",
        "title": "Advisory",
        **changes,
    }


def inbound_kwargs(at, **changes) -> dict:
    """Minimal valid input for ``services.log_communication``: a message from
    the vendor at ``at``; ``changes`` replace or add arguments."""
    return {
        "direction": "inbound",
        "channel": "email",
        "sender": "security@contoso.example",
        "recipients": ["research@firm.example"],
        "body": "It is closed now.",
        "occurred_at": at,
        **changes,
    }


def advance(
    case: Case, stage: str, *, actor, at, verifier=None, performer=None, justification=""
) -> Case:
    """Move ``case`` into ``stage`` at ``at`` with minimal valid input.

    A deletion is performed by ``performer`` (default: ``actor``) and verified
    by ``verifier`` (default: a new firm analyst); ``justification`` is the
    override for publishing before the asset is secured. A published case
    closes as published, any other as invalid.
    """
    if stage == Stage.VENDOR_NOTIFIED:
        return services.notify_vendor(actor=actor, case=case, **notify_kwargs(at))
    if stage == Stage.SECURED:
        return services.secure(
            actor=actor, case=case, occurred_at=at, retest_result="403 on anonymous listing"
        )
    if stage == Stage.DATA_DELETED:
        if verifier is None:
            verifier = MembershipFactory(organization=FirmFactory(), role="analyst").user
        return services.record_deletion(
            actor=actor, case=case, **deletion_kwargs(performer or actor, verifier, at)
        )
    if stage == Stage.PUBLISHED:
        return services.publish(
            actor=actor, case=case, **publish_kwargs(at, override_justification=justification)
        )
    if stage == Stage.CLOSED:
        case.refresh_from_db()
        reason = CloseReason.PUBLISHED if case.stage == Stage.PUBLISHED else CloseReason.INVALID
        return services.close_case(actor=actor, case=case, reason=reason, occurred_at=at)
    raise ValueError(f"cannot advance to {stage}")
