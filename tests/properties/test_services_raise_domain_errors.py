"""Property tests: every public service of every service module (each
app's ``services``, the cases' services package, accounts.invitations),
called with generated arguments (valid ones, slightly wrong ones and
hostile ones), raises nothing but a DomainError, and changes nothing when it
raises one. ``test_every_service_module_is_covered`` finds the services by
walking the package, so a new one fails until it is covered here (or named,
with the reason, as an internal helper).

Each test function builds its case once; every generated call runs inside a
savepoint that is rolled back afterwards, so each example starts from the
same state. Examples are derandomized so that a run is reproducible and the
count of non-domain failures can be compared between runs.
"""

import importlib
import inspect
import io
import os
import pkgutil
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import disclosure
from disclosure.accounts import invitations, lockout, mfa, passwords, sessions
from disclosure.accounts import services as accounts
from disclosure.accounts.models import ContactEvent, Invitation, Membership, Organization, User
from disclosure.affected import claims as affected_claims
from disclosure.affected import grouping as affected_grouping
from disclosure.affected import importing as affected_importing
from disclosure.affected.models import Dispute
from disclosure.cases import services
from disclosure.cases.details import DETAIL_FIELDS
from disclosure.cases.models import Case, DisclosurePolicy, Escalation
from disclosure.cases.stages import Stage
from disclosure.comms import outbound, preferences, triage
from disclosure.comms import templates as mail_templates
from disclosure.comms.inbound import ingest
from disclosure.comms.models import Communication, InboundMessage, MailTemplate, OutboxMessage
from disclosure.core.errors import DomainError
from disclosure.core.timeutils import now
from disclosure.evidence import retention
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.exports import services as exports
from disclosure.exports.models import Export
from disclosure.intake import services as intake
from disclosure.intake.models import Finding
from disclosure.ledger.models import CaseEvent
from disclosure.lookups import lookup as lookups_lookup
from disclosure.lookups import services as lookup_services
from disclosure.probes import runs as probe_runs
from disclosure.probes import services as probe_services
from disclosure.probes.fetch import Outcome
from disclosure.probes.models import ProbeResult, ProbeSchedule
from disclosure.tokens import services as tokens
from disclosure.tokens.models import ApiToken
from disclosure.webhooks import services as webhook_services
from disclosure.webhooks.models import WebhookDelivery, WebhookSubscription
from tests.cases.helpers import state
from tests.factories import (
    FirmFactory,
    MembershipFactory,
    capture,
    deletion_kwargs,
    inbound_kwargs,
    make_case,
    notify_kwargs,
    publish_kwargs,
)
from tests.properties.hostile import MAX_TEXT, argument, pool
from tests.properties.internal import INTERNAL

EXAMPLES = 100
GHOST_PK = 987_654_321

# --- the services and their valid arguments -----------------------------------


def _at(world, hours: float) -> datetime:
    return world["start"] + timedelta(hours=hours)


def _base(name: str, w) -> dict:
    """Valid keyword arguments for service ``name`` against ``w['case']``."""
    case, analyst = w["case"], w["analyst"]
    recent = now() - timedelta(hours=1)
    if name == "open_case":
        return {
            "actor": analyst,
            "vendor": w["vendor"],
            "title": "Open bucket",
            "asset_provider": "aws",
            "asset_kind": "s3_bucket",
            "asset_identifier": "s3://other-bucket",
            "how_found": "Scanner",
            "found_at": recent,
            "exposure_evidence": [capture(b"another capture")],
        }
    if name == "notify_vendor":
        return {"actor": analyst, "case": case, **notify_kwargs(recent)}
    if name == "acknowledge":
        return {"actor": w["vendor_contact"], "case": case, "occurred_at": recent}
    if name == "secure":
        return {"actor": analyst, "case": case, "occurred_at": recent, "retest_result": "403"}
    if name == "record_deletion":
        return {
            "actor": analyst,
            "case": case,
            **deletion_kwargs(analyst, w["verifier"], recent),
        }
    if name == "publish":
        return {"actor": analyst, "case": case, **publish_kwargs(recent)}
    if name == "close_case":
        return {"actor": w["lead"], "case": case, "reason": "published", "occurred_at": recent}
    if name == "log_communication":
        return {"actor": analyst, "case": case, **inbound_kwargs(recent)}
    if name == "attach_evidence":
        return {"actor": analyst, "case": case, "file": capture(b"more evidence")}
    if name == "file_dispute":
        return {
            "actor": analyst,
            "case": case,
            "subject": "Count",
            "firm_position": "65,000 entities",
            "firm_provenance": "Our index",
            "vendor_position": "Fewer",
            "vendor_provenance": "Their blog",
        }
    if name == "answer_dispute":
        return {"actor": analyst, "case": case, "dispute": w["dispute"], "answer": "Ours."}
    if name == "settle_dispute":
        return {"actor": w["lead"], "case": case, "dispute": w["dispute"], "outcome": "rejected",
                "reason": "Our count holds."}  # fmt: skip
    if name == "countersign_attestation":
        return {"actor": w["vendor_contact"], "case": case, "statement": "Agreed."}
    if name == "correct_event":
        return {"actor": analyst, "case": case, "seq": 1, "reason": "Typo", "statement": "x"}
    if name == "set_legal_hold":
        return {"actor": w["legal"], "case": case, "on": True, "reason": "Litigation"}
    if name == "update_details":
        return {"actor": analyst, "case": case, "changes": {"title": "Renamed", "severity": "high"}}
    if name == "open_follow_up":
        return {
            "actor": analyst,
            "case": case,
            "found_at": recent,
            "how_found": "Re-scan",
            "exposure_evidence": [capture(b"re-exposure")],
        }
    if name == "escalate":
        return {
            "actor": w["lead"],
            "case": case,
            "target": "cert",
            "organization": "CERT-EU",
            "reason": "No answer",
            "escalated_at": recent,
        }
    if name == "send_case_mail":
        return {"actor": analyst, "case": case, "to": ["security@contoso.example"],
                "subject": "Exposed bucket", "body": "We found your bucket open.",
                "record_notified": True}  # fmt: skip
    if name == "edit_mail_template":
        return {"actor": w["lead"], "key": "follow_up", "subject": "About {{ case.reference }}",
                "body": "Hello {{ vendor.name }}"}  # fmt: skip
    if name == "reset_mail_template":
        return {"actor": w["lead"], "key": "follow_up"}
    if name == "confirm_secured":  # the world's case is secured on the vendor's word
        return {"actor": analyst, "case": case, "retest_result": "403 on anonymous listing"}
    if name == "set_mail_delivery":
        return {"actor": analyst, "choice": "digest"}
    if name == "watch_case":
        return {"actor": analyst, "case": case, "watching": True}
    if name == "update_schedule":
        return {"actor": analyst, "case": case, "paused": True, "interval_hours": 12,
                "url": "https://acct.blob.core.windows.net/c?comp=list"}  # fmt: skip
    if name in ("record_secured_from_probe", "open_follow_up_from_probe"):
        return {"actor": analyst, "case": case, "result": w["probe_result"]}
    if name == "probe_now":  # the schedule's URL is refused without any network
        return {"actor": analyst, "case": case}
    if name == "set_retention":
        return {"actor": w["lead"], "case": case, "days": 30, "reason": "Regulator asked"}
    if name in ("create_subscription", "update_subscription"):
        return {"actor": w["admin"], "name": "Ticketing", "url": "https://93.184.216.34/hook",
                "secret": "a-secret-of-20-chars", "event_kinds": ["case_opened"],
                "vendors": [w["vendor"]], "cases": [case], "internal": False,
                **({"subscription": w["webhook"], "active": True}
                   if name == "update_subscription" else {})}  # fmt: skip
    if name == "set_subscription_active":
        return {"actor": w["admin"], "subscription": w["webhook"], "active": False}
    if name == "redeliver":
        return {"actor": w["admin"], "delivery": w["webhook_delivery"]}
    if name == "create_organization":
        return {"name": "Northwind", "kind": "vendor", "domain": "northwind.example"}
    if name == "add_membership":
        return {"user": w["outsider"], "organization": w["vendor"], "role": "vendor_contact"}
    if name == "edit_policy":
        return {"actor": w["admin"], "policy": w["policy"], "changes": {"name": "Renamed 90"}}
    if name == "invite_contact":
        return {
            "actor": analyst,
            "organization": w["vendor"],
            "email": "new.contact@contoso.example",
            "link_template": "https://disclosure.example/portal/invitation/{token}/",
        }
    if name == "resend_invitation":
        return {
            "actor": analyst,
            "invitation": w["invitation"].invitation,
            "link_template": "https://disclosure.example/portal/invitation/{token}/",
        }
    if name == "accept_invitation":
        return {"token": w["invitation"].token, "password": "a long passphrase 7391"}
    if name == "deactivate_contact":
        return {"actor": analyst, "organization": w["vendor"], "contact": w["vendor_contact"]}
    if name == "request_export":
        return {"actor": w["legal"], "case": case, "format": "json", "variant": "vendor"}
    if name == "run_export":
        return {"export_id": w["export"].pk}
    if name == "record_download":
        return {"actor": w["legal"], "export": w["export"]}
    if name == "submit_finding":
        return {
            "actor": analyst,
            "source": "bucket-scanner",
            "external_id": "scan-0042",
            "vendor": w["vendor"],
            "title": "Open bucket",
            "asset_provider": "aws",
            "asset_kind": "s3_bucket",
            "asset_identifier": "s3://scanned-bucket",
            "evidence": [capture(b"scanner listing")],
            "found_at": recent,
        }
    if name == "create_token":
        return {"user": analyst, "name": "scanner", "scope": "read_write", "days": 30}
    if name == "attach_inbound":
        return {"actor": analyst, "message": w["inbound"], "case": case}
    if name == "discard_inbound":
        return {"actor": analyst, "message": w["inbound"], "reason": "Spam"}
    if name == "open_case_from_inbound":
        return {**_base("open_case", w), "message": w["inbound"]}
    if name == "revoke_token":
        return {"actor": analyst, "token_id": w["token"].pk}
    if name == "unlock":
        return {"actor": w["admin"], "username": "someone", "address": ""}
    if name == "reset_factors":
        return {"actor": w["admin"], "user": analyst}
    if name == "end_session":
        return {"user": analyst, "session_id": w["session"].pk, "interface": "staff"}
    if name == "request_reset":
        return {"email": analyst.email or "a@firm.example",
                "link_template": "https://disclosure.example/r/{uid}/{token}/"}  # fmt: skip
    if name == "replace_recovery_codes":
        return {"user": analyst, "interface": "staff"}
    if name in ("confirm_enrolment", "remove_factor"):
        from tests.accounts.signin_helpers import code_for

        user = analyst if name == "confirm_enrolment" else w["vendor_contact"]
        return {"user": user, "code": code_for(w["device"]), "interface": "portal"}
    if name == "start_import":
        return {"actor": analyst, "case": case, "file": io.BytesIO(b"domain\nexample.com\n"),
                "filename": "l.csv", "format": "csv"}  # fmt: skip
    if name == "group_domains":
        return {"actor": analyst, "case": case, "name": "Example", "domains": ["example.com"]}
    if name == "mark_told":
        return {"actor": analyst, "case": case, "organization": w["affected_org"], "how": "mail"}
    if name == "set_minimisation":
        return {"actor": analyst, "case": case, "minimise_emails": True}
    if name == "set_lookups_enabled":
        return {"actor": analyst, "case": case, "enabled": False}
    if name == "file_count_claim":
        return {"actor": analyst, "case": case, "level": "domains", "count": 1, "method": "PSL"}
    if name == "start_mail_verification":
        return {"user": w["vendor_contact"], "domain": "example.com",
                "address": "security@example.com"}  # fmt: skip
    if name == "confirm_code":
        return {"user": w["vendor_contact"], "domain": "example.com", "code": w["lookup_code"]}
    if name in ("start_dns_verification", "check_dns"):
        return {"user": w["vendor_contact"], "domain": "example.com"}
    if name == "lookup":
        return {"user": w["vendor_contact"], "domain": "example.com", "client_address": "192.0.2.1"}
    raise AssertionError(name)


STAGE_FOR = {
    "open_case": None,
    "notify_vendor": Stage.FOUND,
    "acknowledge": Stage.VENDOR_NOTIFIED,
    "secure": Stage.VENDOR_NOTIFIED,
    "record_deletion": Stage.SECURED,
    "publish": Stage.SECURED,
    "close_case": Stage.PUBLISHED,
    "log_communication": Stage.VENDOR_NOTIFIED,
    "attach_evidence": Stage.FOUND,
    "file_dispute": Stage.VENDOR_NOTIFIED,
    "answer_dispute": Stage.VENDOR_NOTIFIED,
    "settle_dispute": Stage.VENDOR_NOTIFIED,
    "countersign_attestation": Stage.DATA_DELETED,
    "correct_event": Stage.VENDOR_NOTIFIED,
    "set_legal_hold": Stage.FOUND,
    "update_details": Stage.FOUND,
    "open_follow_up": Stage.SECURED,
    "escalate": Stage.VENDOR_NOTIFIED,
    "send_case_mail": Stage.FOUND,
    "edit_mail_template": None,
    "reset_mail_template": None,
    "confirm_secured": Stage.VENDOR_NOTIFIED,
    "set_mail_delivery": None,
    "watch_case": Stage.VENDOR_NOTIFIED,
    "set_retention": Stage.VENDOR_NOTIFIED,
    "create_organization": None,
    "add_membership": None,
    "edit_policy": Stage.VENDOR_NOTIFIED,
    "invite_contact": None,
    "resend_invitation": None,
    "accept_invitation": None,
    "deactivate_contact": None,
    "request_export": Stage.VENDOR_NOTIFIED,
    "run_export": Stage.VENDOR_NOTIFIED,
    "record_download": Stage.VENDOR_NOTIFIED,
    "submit_finding": None,
    "create_token": None,
    "revoke_token": None,
    "attach_inbound": Stage.VENDOR_NOTIFIED,
    "discard_inbound": None,
    "open_case_from_inbound": None,
    "update_schedule": Stage.FOUND,
    "record_secured_from_probe": Stage.VENDOR_NOTIFIED,
    "open_follow_up_from_probe": Stage.SECURED,
    "probe_now": Stage.FOUND,
    "create_subscription": Stage.FOUND,
    "update_subscription": Stage.FOUND,
    "set_subscription_active": Stage.FOUND,
    "redeliver": Stage.FOUND,
    "unlock": None,
    "reset_factors": None,
    "end_session": None,
    "request_reset": None,
    "replace_recovery_codes": None,
    "confirm_enrolment": None,
    "remove_factor": None,
    # Affected entities (issue 19).
    "start_import": Stage.VENDOR_NOTIFIED,
    "group_domains": Stage.VENDOR_NOTIFIED,
    "mark_told": Stage.VENDOR_NOTIFIED,
    "set_minimisation": Stage.VENDOR_NOTIFIED,
    "set_lookups_enabled": Stage.VENDOR_NOTIFIED,
    "file_count_claim": Stage.VENDOR_NOTIFIED,
    # The verified lookup (issue 19, part 5): no case needed.
    "start_mail_verification": None,
    "confirm_code": None,
    "start_dns_verification": None,
    "check_dns": None,
    "lookup": Stage.VENDOR_NOTIFIED,
}
_MODULES = (services, accounts, invitations, exports, intake, tokens, outbound, mail_templates,
            preferences, triage, retention, probe_services, probe_runs)  # fmt: skip
_MODULES += (webhook_services,)
_MODULES += (lockout, mfa, passwords, sessions)  # sign-in security (issue 20)
_MODULES += (affected_importing, affected_grouping, affected_claims)  # issue 19
_MODULES += (lookup_services, lookups_lookup)  # issue 19, the verified lookup
SERVICE = {name: next(getattr(m, name) for m in _MODULES if hasattr(m, name)) for name in STAGE_FOR}


def _parameters(name: str) -> list[str]:
    params = inspect.signature(SERVICE[name]).parameters
    names = [p for p, v in params.items() if v.kind is not inspect.Parameter.VAR_KEYWORD]
    if name == "open_case":
        names += [f for f in DETAIL_FIELDS if f not in names]
    if name == "open_case_from_inbound":  # open_case's arguments, passed through
        names += [*_parameters("open_case"), *DETAIL_FIELDS]
    if name == "send_case_mail":
        names += ["to", "cc", "subject", "body", "attachments", "in_reply_to"]
    if name == "log_communication":
        names += ["direction", "channel", "sender", "recipients", "subject", "body"]
        names += ["occurred_at", "attachments"]
    return list(dict.fromkeys(names))


@pytest.fixture
def world(request, service, firm, vendor, analyst, lead, legal, vendor_contact, outsider, settings):
    settings.DISCLOSURE_MAX_TEXT_CHARS = MAX_TEXT
    start = now() - timedelta(days=10)
    verifier = MembershipFactory(organization=FirmFactory(), role="analyst").user
    stage = STAGE_FOR[service]
    case = None
    if stage is not None:
        case = make_case(stage, actor=analyst, vendor=vendor, lead=lead, verifier=verifier)
    else:
        case = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    admin = MembershipFactory(organization=firm, role="admin").user
    policy = DisclosurePolicy.objects.get(pk=case.policy_id)
    invitation = export = token = None
    if service in ("resend_invitation", "accept_invitation"):
        invitation = invitations.invite_contact(
            actor=analyst,
            organization=vendor,
            email="invited@contoso.example",
            link_template="https://disclosure.example/portal/invitation/{token}/",
        )
    if service in ("run_export", "record_download"):
        export = exports.request_export(actor=legal, case=case, format="json")
        export = exports.run_export(export_id=export.pk)
    if service == "revoke_token":
        token = tokens.create_token(user=analyst, name="to revoke").token
    if service == "confirm_secured":
        services.secure(actor=vendor_contact, case=case, occurred_at=now() - timedelta(hours=1))
        case.refresh_from_db()
    webhook = webhook_delivery = None
    if service in ("update_subscription", "set_subscription_active", "redeliver"):
        webhook = webhook_services.create_subscription(
            actor=admin, name="SIEM", url="https://93.184.216.34/hook",
            secret="s3cret-of-sixteen-or-more", internal=True,
        )  # fmt: skip
        event = CaseEvent.objects.filter(case=case).order_by("seq").first()
        webhook_delivery = WebhookDelivery.objects.create(
            subscription=webhook, case=case, event=event, event_kind=event.kind,
            body=b'{"case":{"reference":"X","vendor_id":1},"event":{"seq":1},"view":"internal"}',
            next_attempt_at=now(), created_at=now(),
        )  # fmt: skip
    probe_result = None
    if service in ("record_secured_from_probe", "open_follow_up_from_probe"):
        verdict, status = (
            ("not_public", 403) if service == "record_secured_from_probe" else ("public", 200)
        )
        probe_result = probe_services.record_outcome(
            case=case,
            outcome=Outcome(url="https://acct.blob.core.windows.net/c", verdict=verdict,
                            probed_at=now() - timedelta(minutes=30), http_status=status),
        )  # fmt: skip
    if service == "probe_now":
        ProbeSchedule.objects.create(case=case, interval_hours=6, url="http://10.0.0.1/")
    webhook = webhook_delivery = None
    if service in ("update_subscription", "set_subscription_active", "redeliver"):
        webhook = webhook_services.create_subscription(
            actor=admin, name="SIEM", url="https://93.184.216.34/hook",
            secret="s3cret-of-sixteen-or-more", internal=True,
        )  # fmt: skip
        event = CaseEvent.objects.filter(case=case).order_by("seq").first()
        webhook_delivery = WebhookDelivery.objects.create(
            subscription=webhook, case=case, event=event, event_kind=event.kind,
            body=b'{"case":{"reference":"X","vendor_id":1},"event":{"seq":1},"view":"internal"}',
            next_attempt_at=now(), created_at=now(),
        )  # fmt: skip
    inbound = None
    if service in ("attach_inbound", "discard_inbound", "open_case_from_inbound"):
        inbound = ingest(
            b"From: someone@elsewhere.example\nSubject: A tip\nMessage-ID: <tip@x.example>\n\nHi\n",
            source="maildir:/inbox",
        )
    device = session = None
    if service in ("unlock", "reset_factors"):
        User.objects.filter(pk=admin.pk).update(is_staff=True)
        admin.refresh_from_db()
    if service == "end_session":
        session = sessions.register(user=analyst, session_key="k" * 32, address="192.0.2.1",
                                    user_agent="test", interface="staff")  # fmt: skip
    if service in ("replace_recovery_codes", "reset_factors"):
        from tests.accounts.signin_helpers import give_app

        device = give_app(analyst)
    if service == "confirm_enrolment":
        device = mfa.pending_device(analyst)
    if service == "remove_factor":
        from tests.accounts.signin_helpers import give_app

        device = give_app(vendor_contact)
    dispute = None
    if service in ("answer_dispute", "settle_dispute"):
        dispute = services.file_dispute(
            actor=vendor_contact, case=case, subject="Count", firm_position="65,000",
            firm_provenance="Our index", vendor_position="Fewer", vendor_provenance="Theirs",
        )  # fmt: skip
    affected_org = None
    if service in ("group_domains", "mark_told"):
        batch = affected_importing.start_import(
            actor=analyst, case=case, file=io.BytesIO(b"domain\nexample.com\nexample.org\n"),
            filename="l.csv", format="csv",
        )  # fmt: skip
        affected_importing.run_import(batch_id=batch.pk)
        if service == "mark_told":
            affected_org = affected_grouping.group_domains(
                actor=analyst, case=case, name="Org", domains=["example.org"]
            )
    lookup_code = ""
    if service in ("start_mail_verification", "confirm_code", "check_dns", "lookup"):
        # Never the network: security.txt on a refused address, DNS on a dead port.
        settings.DISCLOSURE_LOOKUP_SECURITY_TXT_URL = "http://127.0.0.1:9/{domain}"
        settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False
        settings.DISCLOSURE_LOOKUP_DNS_RESOLVER = "127.0.0.1:9"
        settings.DISCLOSURE_LOOKUP_DNS_TIMEOUT = 0.05
    if service == "confirm_code":
        import re

        lookup_services.start_mail_verification(
            user=vendor_contact, domain="example.com", address="security@example.com"
        )
        raw = bytes(OutboxMessage.objects.order_by("-id").first().raw).decode()
        lookup_code = re.search(r"The code is: (\d{4}-\d{4})", raw).group(1)
    if service == "check_dns":
        lookup_services.start_dns_verification(user=vendor_contact, domain="example.com")
    ghost_user = User(pk=GHOST_PK, username="ghost")
    wrong = [
        User(username="unsaved"),
        ghost_user,
        Organization(name="Unsaved", kind="vendor"),
        Organization(pk=GHOST_PK, name="Gone", kind="vendor"),
        DisclosurePolicy(name="Unsaved"),
        Case(title="unsaved"),
        Case(pk=GHOST_PK, title="gone"),
        Communication(pk=GHOST_PK, direction="inbound", occurred_at=start, subject="gone"),
        InboundMessage(pk=GHOST_PK, message_id="<gone@x.example>"),
        ProbeResult(pk=GHOST_PK, verdict="public"),
        WebhookSubscription(pk=GHOST_PK, name="gone"),
        WebhookDelivery(pk=GHOST_PK),
        AnonymousUser(),
    ]
    right = [case, vendor, firm, analyst, lead, legal, vendor_contact, outsider, verifier]
    right += [DisclosurePolicy.objects.first(), admin]
    right += [
        x
        for x in (invitation and invitation.invitation, export, token, dispute, inbound)
        if x is not None
    ]
    right += [x for x in (webhook, webhook_delivery) if x is not None]
    if probe_result is not None:
        right.append(probe_result)
    if Communication.objects.filter(case=case).exists():
        right.append(Communication.objects.filter(case=case).first())
    if affected_org is not None:
        right.append(affected_org)
    return {
        "affected_org": affected_org,
        "lookup_code": lookup_code,
        "case": case,
        "start": start,
        "vendor": vendor,
        "firm": firm,
        "analyst": analyst,
        "lead": lead,
        "legal": legal,
        "vendor_contact": vendor_contact,
        "outsider": outsider,
        "verifier": verifier,
        "admin": admin,
        "policy": policy,
        "invitation": invitation,
        "export": export,
        "token": token,
        "dispute": dispute,
        "inbound": inbound,
        "probe_result": probe_result,
        "webhook": webhook,
        "webhook_delivery": webhook_delivery,
        "device": device,
        "session": session,
        "instances": wrong + right,
    }


def snapshot(case: Case) -> dict:
    """The case's state and the row counts a refused call must not change."""
    counts = {
        model.__name__: model.objects.count()
        for model in (
            Case,
            CaseEvent,
            Communication,
            EvidenceFile,
            DeletionAttestation,
            Dispute,
            Escalation,
            Organization,
            Membership,
            User,
            Invitation,
            ContactEvent,
            Export,
            Finding,
            ApiToken,
            DisclosurePolicy,
            OutboxMessage,
            WebhookSubscription,
            WebhookDelivery,
        )
    }
    attestation = DeletionAttestation.objects.filter(case=case).first()
    signed = attestation and (attestation.countersigned_at, attestation.countersigned_by_id)
    changed = {
        "tokens": sorted(ApiToken.objects.values_list("pk", "revoked_at")),
        "invitations": sorted(Invitation.objects.values_list("pk", "accepted_at", "revoked_at")),
        "active": sorted(User.objects.values_list("pk", "is_active")),
        "policies": sorted(DisclosurePolicy.objects.values_list("pk", "name")),
        "exports": sorted(Export.objects.values_list("pk", "status")),
        "templates": sorted(MailTemplate.objects.values_list("key", "subject", "body")),
        "inbound": sorted(InboundMessage.objects.values_list("pk", "status", "triaged_at")),
        "webhooks": sorted(
            WebhookSubscription.objects.values_list("pk", "name", "url", "secret", "active")
        ),
    }
    return {"case": state(case), "counts": counts, "countersigned": signed, **changed}


@st.composite
def calls(draw, world, name: str):
    """(changes, removed, extra): which arguments to replace by what, which to
    leave out, and which unknown keyword to add."""
    params = _parameters(name)
    replaced = draw(st.lists(st.sampled_from(params), max_size=3, unique=True))
    changes = {p: draw(argument(world, p)) for p in replaced}
    removed = (
        draw(st.lists(st.sampled_from(params), max_size=1)) if draw(st.integers(0, 9)) == 0 else []
    )
    extra = {}
    if draw(st.integers(0, 9)) == 0:
        extra[draw(st.sampled_from(["bogus", "force", "actor_id", "stage"]))] = draw(pool(world))
    return changes, removed, extra


def _describe(kwargs: dict) -> str:
    def short(v):
        r = repr(v)
        return r if len(r) < 80 else r[:77] + "..."

    return ", ".join(f"{k}={short(v)}" for k, v in kwargs.items())


def _call(service: str, world, data) -> str | None:
    """Make one generated call inside a savepoint that is rolled back after;
    return what went wrong, or None."""
    changes, removed, extra = data.draw(calls(world, service), label="call")
    kwargs = {**_base(service, world), **changes, **extra}
    for name in removed:
        kwargs.pop(name, None)
    case = world["case"]
    before = snapshot(case)
    sid = transaction.savepoint()
    try:
        SERVICE[service](**kwargs)
    except DomainError as exc:
        if snapshot(case) != before:
            return f"{service}({_describe(kwargs)}) changed something, then raised {exc!r}"
    except Exception as exc:  # the property under test
        return f"{service}({_describe(kwargs)}) -> {type(exc).__name__}: {exc}"[:500]
    finally:
        transaction.savepoint_rollback(sid)
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("service", list(STAGE_FOR))
def test_service_raises_only_domain_errors_and_changes_nothing(service, world):
    """Every generated call either succeeds or raises a DomainError and
    leaves the case and the row counts as they were. All examples run (no
    stop at the first failure) so that a run reports how many failed."""
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def run(data):
        problem = _call(service, world, data)
        if problem:
            failures.append(problem)

    run()
    report = os.environ.get("DISCLOSURE_PROPERTY_REPORT")  # a file to count failures in
    if report:
        with open(report, "a") as out:
            out.write(f"{service} {len(failures)} {EXAMPLES}\n")
    assert not failures, f"{len(failures)} of {EXAMPLES} calls failed:\n" + "\n".join(failures)


@pytest.mark.django_db
@pytest.mark.parametrize("service", list(STAGE_FOR))
def test_the_valid_arguments_are_accepted(service, world):
    """The baseline the properties mutate is itself accepted, so that the
    generated calls reach past the first check."""
    sid = transaction.savepoint()
    try:
        SERVICE[service](**_base(service, world))
    finally:
        transaction.savepoint_rollback(sid)


def _service_modules():
    """Every module under disclosure/ named ``services`` or inside a
    ``services`` package, and every module with a function that validates
    its arguments (``core.validation.validated``: accounts.invitations)."""
    found = []
    for info in pkgutil.walk_packages(disclosure.__path__, "disclosure."):
        if ".migrations" in info.name or ".management" in info.name:
            continue
        module = importlib.import_module(info.name)
        parts = info.name.split(".")
        validating = any(
            getattr(f, "validates_arguments", False) and f.__module__ == module.__name__
            for f in vars(module).values()
            if callable(f)
        )
        if "services" in parts[2:] or validating:
            found.append(module)
    return found


def test_every_service_module_is_covered():
    """Each public function of each service module is either generated
    against above (STAGE_FOR) or named in INTERNAL with the reason."""
    modules = _service_modules()
    names = {m.__name__ for m in modules}
    assert {
        "disclosure.accounts.services",
        "disclosure.accounts.invitations",
        "disclosure.affected.services",
        "disclosure.comms.services",
        "disclosure.evidence.services",
        "disclosure.exports.services",
        "disclosure.intake.services",
        "disclosure.ledger.services",
        "disclosure.tokens.services",
        "disclosure.cases.services.lifecycle",
    } <= names
    uncovered = []
    for module in modules:
        for name, fn in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(fn):
                continue
            if fn.__module__ != module.__name__ and not hasattr(fn, "__wrapped__"):
                continue  # imported from elsewhere
            if getattr(inspect.unwrap(fn), "__module__", None) != module.__name__:
                continue
            if name in STAGE_FOR or name in INTERNAL.get(module.__name__, {}):
                continue
            uncovered.append(f"{module.__name__}.{name}")
    assert uncovered == [], "services not covered by the property tests: " + ", ".join(uncovered)
