"""The services' argument checks: each class of bad input the services
used to let through as a raw exception (a 500 in an interface) is now a
domain error naming the argument, and the service writes nothing; and every
public service is validated."""

import io
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from disclosure.accounts import lockout, mfa, passwords, sessions
from disclosure.accounts import services as accounts
from disclosure.accounts.models import Organization, User
from disclosure.affected import claims as affected_claims
from disclosure.affected import grouping as affected_grouping
from disclosure.affected import importing as affected_importing
from disclosure.cases import services
from disclosure.cases.details import clean_details
from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.cases.stages import Stage
from disclosure.comms import outbound, preferences, triage
from disclosure.comms import templates as mail_templates
from disclosure.core.errors import InvalidTimestamp, NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence import retention
from disclosure.evidence.services import (
    IncomingFile,
    clean_deletion_items,
    clean_retained_metadata,
)
from disclosure.lookups import lookup as lookups_lookup
from disclosure.lookups import services as lookup_services
from disclosure.probes import runs as probe_runs
from disclosure.probes import services as probe_services
from disclosure.webhooks import services as webhook_services
from tests.cases.helpers import state
from tests.factories import SHA, capture, deletion_kwargs, make_case, notify_kwargs

# --- the services: each bad input class, nothing written ----------------------------


@pytest.fixture
def found(analyst, vendor):
    return make_case(Stage.FOUND, actor=analyst, vendor=vendor)


@pytest.fixture
def notified(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"note": "a\x00b"}, ValidationFailed, "note"),
        ({"note": "\ud800"}, ValidationFailed, "note"),
        ({"subject": "x\x00"}, ValidationFailed, "subject"),
        ({"body": "\udfff"}, ValidationFailed, "body"),
        ({"recipients": "security@vendor.example"}, ValidationFailed, "recipients"),
        ({"recipients": {"to": "security@vendor.example"}}, ValidationFailed, "recipients"),
        ({"recipients": ["ok@vendor.example", 7]}, ValidationFailed, "recipients"),
        ({"recipients": ["a\x00@vendor.example"]}, ValidationFailed, "recipients"),
        ({"occurred_at": "2024-01-01T00:00:00Z"}, InvalidTimestamp, "occurred_at"),
        ({"occurred_at": date(2024, 1, 1)}, InvalidTimestamp, "occurred_at"),
        ({"attachments": [IncomingFile(name="n\x00", stream=io.BytesIO(b"x"))]},
         ValidationFailed, "attachments"),
        ({"attachments": [IncomingFile(name="n", stream=io.StringIO("x"))]},
         ValidationFailed, "attachments"),
        ({"force": True}, ValidationFailed, "force"),
    ],
)  # fmt: skip
def test_notify_vendor_refuses_bad_arguments(changes, error, field, found, analyst):
    before = state(found)
    with pytest.raises(error) as exc:
        services.notify_vendor(
            actor=analyst, case=found, **notify_kwargs(now() - timedelta(hours=1), **changes)
        )
    assert exc.value.field == field
    assert state(found) == before


def test_a_270_mb_note_is_refused_before_anything_is_written(notified, analyst, settings):
    settings.DISCLOSURE_MAX_TEXT_CHARS = 1_000
    before = state(notified)
    with pytest.raises(ValidationFailed, match="longer than 1000 characters") as exc:
        services.acknowledge(actor=analyst, case=notified, occurred_at=now(), note="x" * 1_001)
    assert exc.value.field == "note"
    assert state(notified) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"affected_entity_count": 2**31}, "affected_entity_count"),
        ({"affected_country_count": -1}, "affected_country_count"),
        ({"volume_bytes": 2**63}, "volume_bytes"),
        ({"volume_objects": 1.5}, "volume_objects"),
        ({"records_by_kind": [("emails", 1)]}, "records_by_kind"),
        ({"records_by_kind": {"emails": 2**63}}, "records_by_kind"),
        ({"records_by_kind": {"e\x00mails": 1}}, "records_by_kind"),
        ({"records_by_kind": {3: 1}}, "records_by_kind"),
        ({"data_categories": "pii"}, "data_categories"),
        ({"data_categories": [["pii"]]}, "data_categories"),
        ({"data_categories": {"pii": True}}, "data_categories"),
        ({"title": "Exposed\x00bucket"}, "title"),
        ({"summary": "\ud800"}, "summary"),
        ({"time_zone": ["UTC"]}, "time_zone"),
        ({"severity": ["high"]}, "severity"),
        ({"assignee": "analyst"}, "assignee"),
        ({"stage": "closed"}, "stage"),
    ],
)
def test_update_details_refuses_bad_values(changes, field, found, analyst):
    before = state(found)
    with pytest.raises(ValidationFailed) as exc:
        services.update_details(actor=analyst, case=found, changes=changes)
    assert exc.value.field == field
    assert state(found) == before


@pytest.mark.parametrize("changes", ["title=x", [("title", "x")], None])
def test_update_details_needs_a_mapping(changes, found, analyst):
    with pytest.raises(ValidationFailed) as exc:
        services.update_details(actor=analyst, case=found, changes=changes)
    assert exc.value.field == "changes"


def test_counts_fit_their_columns(db):
    assert clean_details({"affected_entity_count": 2**31 - 1})["affected_entity_count"] == (
        2**31 - 1
    )
    assert clean_details({"volume_bytes": 2**63 - 1})["volume_bytes"] == 2**63 - 1


@pytest.mark.parametrize(
    ("make_actor", "error"),
    [
        (lambda: User(username="unsaved"), ValidationFailed),
        (lambda: User(pk=987654321, username="gone"), ValidationFailed),
        (lambda: "analyst", ValidationFailed),
        (lambda: None, ValidationFailed),
        (lambda: AnonymousUser(), NotPermitted),
    ],
)
def test_the_actor_must_be_a_saved_signed_in_user(make_actor, error, found):
    before = state(found)
    with pytest.raises(error) as exc:
        services.set_legal_hold(actor=make_actor(), case=found, on=True, reason="Litigation")
    assert exc.value.field == "actor"
    assert state(found) == before


@pytest.mark.parametrize(
    ("make_case_arg", "match"),
    [
        (lambda: Case(title="unsaved"), "never saved"),
        (lambda: "DSC-2026-0001", "must be a case"),
        (lambda: DisclosurePolicy.objects.first(), "must be a case"),
    ],
)
def test_the_case_must_be_a_saved_case(make_case_arg, match, found, legal):
    with pytest.raises(ValidationFailed, match=match) as exc:
        services.set_legal_hold(actor=legal, case=make_case_arg(), on=True, reason="Litigation")
    assert exc.value.field == "case"


def test_a_case_that_does_not_exist_is_not_found(found, legal):
    # Case rows are re-read under lock by every service (guards.locked_case):
    # a case that is gone answers 404 like one the user may not see.
    with pytest.raises(NotFound, match="No such case"):
        services.set_legal_hold(actor=legal, case=Case(pk=987654321), on=True, reason="Litigation")


@pytest.mark.parametrize("on", [None, "yes", 1])
def test_legal_hold_needs_true_or_false(on, found, legal):
    before = state(found)
    with pytest.raises(ValidationFailed) as exc:
        services.set_legal_hold(actor=legal, case=found, on=on, reason="Litigation")
    assert exc.value.field == "on"
    assert state(found) == before


def test_a_deleted_confirmation_is_refused(notified, analyst):
    from disclosure.comms.models import Communication

    ghost = Communication(pk=987654321, direction="inbound", occurred_at=now(), subject="x")
    with pytest.raises(ValidationFailed, match="does not exist") as exc:
        services.secure(actor=analyst, case=notified, occurred_at=now(), confirmation=ghost)
    assert exc.value.field == "confirmation"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"performed_by": User(username="unsaved")}, "performed_by"),
        ({"verified_by": User(pk=987654321, username="gone")}, "verified_by"),
        ({"items": {"path": "a", "bytes": 1, "sha256": SHA}}, "items"),
        ({"items": "copies/container.tar"}, "items"),
        ({"items": [{"path": "a\x00", "bytes": 1, "sha256": SHA}]}, "items"),
        ({"items": [{"path": "a", "bytes": 2**63, "sha256": SHA}]}, "items"),
        ({"items": [{"path": 7, "bytes": 1, "sha256": SHA}]}, "items"),
        ({"items": [{"path": "a", "bytes": 1, "sha256": 7}]}, "items"),
        ({"retained_metadata": "domain"}, "retained_metadata"),
        ({"retained_metadata": ["domain", 3]}, "retained_metadata"),
        ({"retained_metadata": ["\ud800"]}, "retained_metadata"),
        ({"performed_at": "yesterday"}, "performed_at"),
    ],
)
def test_record_deletion_refuses_bad_arguments(changes, field, analyst, lead, vendor):
    case = make_case(Stage.SECURED, actor=analyst, vendor=vendor)
    before = state(case)
    kwargs = {**deletion_kwargs(analyst, lead, now() - timedelta(minutes=5)), **changes}
    with pytest.raises((ValidationFailed, InvalidTimestamp)) as exc:
        services.record_deletion(actor=analyst, case=case, **kwargs)
    assert exc.value.field == field
    assert state(case) == before


def test_the_manifest_total_must_fit_a_bigint():
    half = {"path": "a", "bytes": 2**62, "sha256": SHA}
    assert clean_deletion_items([half])[0]["bytes"] == 2**62
    with pytest.raises(ValidationFailed, match="total size") as exc:
        clean_deletion_items([half, {**half, "path": "b"}])
    assert exc.value.field == "items"


def test_retained_metadata_is_a_list_of_texts():
    assert clean_retained_metadata(["domain", "  ", None, " name "]) == ["domain", "name"]


@pytest.mark.parametrize(
    ("make_file", "match"),
    [
        (lambda: IncomingFile(name=7, stream=io.BytesIO(b"x")), "must be text"),
        (lambda: IncomingFile(name="a.txt", stream=io.StringIO("x")), "binary mode"),
        (lambda: IncomingFile(name="a.txt", stream=b"x"), "readable file"),
        (
            lambda: IncomingFile(name="a.txt", stream=io.BytesIO(b"x"), captured_at="today"),
            "date and time",
        ),
        (lambda: IncomingFile(name="a.txt", stream=io.BytesIO(b"x"), kind=3), "must be text"),
        (lambda: "a.txt", "must be a IncomingFile"),
    ],
)
def test_attach_evidence_checks_the_incoming_file(make_file, match, found, analyst):
    before = state(found)
    with pytest.raises((ValidationFailed, InvalidTimestamp), match=match) as exc:
        services.attach_evidence(actor=analyst, case=found, file=make_file())
    assert exc.value.field == "file"
    assert state(found) == before


def test_correct_event_refuses_a_sequence_number_beyond_64_bits(notified, lead):
    with pytest.raises(ValidationFailed) as exc:
        services.correct_event(actor=lead, case=notified, seq=2**63, reason="x", statement="x")
    assert exc.value.field == "seq"


def test_open_case_refuses_an_unknown_detail_and_an_unsaved_vendor(analyst, vendor):
    kwargs = {
        "title": "Open bucket",
        "asset_provider": "aws",
        "asset_kind": "s3_bucket",
        "asset_identifier": "s3://b",
        "how_found": "Scanner",
        "found_at": now() - timedelta(hours=1),
        "exposure_evidence": [capture()],
    }
    with pytest.raises(ValidationFailed) as exc:
        services.open_case(actor=analyst, vendor=vendor, bogus=1, **kwargs)
    assert exc.value.field == "bogus"
    unsaved = Organization(name="Unsaved", kind="vendor")
    with pytest.raises(ValidationFailed, match="never saved") as exc:
        services.open_case(actor=analyst, vendor=unsaved, **kwargs)
    assert exc.value.field == "vendor"
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_accounts_services_refuse_bad_arguments(vendor):
    with pytest.raises(ValidationFailed) as exc:
        accounts.create_organization(name="Acme\x00", kind="vendor")
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:
        accounts.create_organization(name="Acme", kind="vendor", domain="\ud800")
    assert exc.value.field == "domain"
    with pytest.raises(ValidationFailed) as exc:
        accounts.create_organization(name="A" * 201, kind="vendor")
    assert exc.value.field == "name"
    with pytest.raises(ValidationFailed) as exc:
        accounts.add_membership(user=User(username="u"), organization=vendor, role="vendor_contact")
    assert exc.value.field == "user"
    user = User.objects.create(username="real")
    ghost = Organization(pk=987654321, name="Gone", kind="vendor")
    with pytest.raises(ValidationFailed) as exc:
        accounts.add_membership(user=user, organization=ghost, role="vendor_contact")
    assert exc.value.field == "organization"
    assert Organization.objects.count() == 1
    assert not user.memberships.exists()


@pytest.mark.postgres
def test_postgresql_refuses_nul_itself_which_is_why_services_check_first(found, analyst):
    from django.db import DataError, transaction

    with pytest.raises(DataError), transaction.atomic():
        Case.objects.filter(pk=found.pk).update(summary="a\x00b")
    with pytest.raises(ValidationFailed) as exc:
        services.update_details(actor=analyst, case=found, changes={"summary": "a\x00b"})
    assert exc.value.field == "summary"


PUBLIC_SERVICES = [
    "open_case", "notify_vendor", "acknowledge", "secure", "record_deletion", "publish",
    "close_case", "log_communication", "attach_evidence", "file_dispute",
    "countersign_attestation", "correct_event", "set_legal_hold", "update_details",
    "open_follow_up", "escalate", "edit_policy", "answer_dispute", "settle_dispute",
    "confirm_secured",
]  # fmt: skip
# Public services outside cases.services (the mail to the vendor and its templates).
OTHER_PUBLIC_SERVICES = [outbound.send_case_mail, mail_templates.edit_mail_template,
                         mail_templates.reset_mail_template, preferences.set_mail_delivery,
                         preferences.watch_case, triage.attach_inbound,
                         triage.open_case_from_inbound, triage.discard_inbound,
                         retention.set_retention, probe_services.update_schedule,
                         probe_services.record_secured_from_probe,
                         probe_services.open_follow_up_from_probe,
                         probe_runs.probe_now, lockout.unlock, mfa.confirm_enrolment,
                         mfa.replace_recovery_codes, mfa.remove_factor, mfa.reset_factors,
                         passwords.request_reset, sessions.end_session]  # fmt: skip

# The webhook subscriptions (admins) and redeliveries.
OTHER_PUBLIC_SERVICES += [webhook_services.create_subscription,
                          webhook_services.update_subscription,
                          webhook_services.set_subscription_active,
                          webhook_services.redeliver]  # fmt: skip


# Affected entities (issue 19).
OTHER_PUBLIC_SERVICES += [affected_importing.start_import, affected_grouping.group_domains,
                          affected_grouping.mark_told, affected_grouping.set_minimisation,
                          affected_grouping.set_lookups_enabled,
                          affected_claims.file_count_claim]  # fmt: skip
# The verified lookup (issue 19, part 5).
OTHER_PUBLIC_SERVICES += [lookup_services.start_mail_verification, lookup_services.confirm_code,
                          lookup_services.start_dns_verification, lookup_services.check_dns,
                          lookups_lookup.lookup]  # fmt: skip


def test_every_public_service_validates_its_arguments():
    assert sorted(n for n in services.__all__ if n != "IncomingFile") == sorted(PUBLIC_SERVICES)
    for name in PUBLIC_SERVICES:
        assert getattr(getattr(services, name), "validates_arguments", False), name
    for fn in (accounts.create_organization, accounts.add_membership, *OTHER_PUBLIC_SERVICES):
        assert getattr(fn, "validates_arguments", False), fn.__name__
