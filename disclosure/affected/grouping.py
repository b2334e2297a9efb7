"""Staff group registrable domains into organizations (one company's
country branches count once), and mark an organization as told. Each a
ledger event (internal: the domains are the firm's working data)."""

from datetime import datetime

from disclosure.accounts.models import User
from disclosure.cases.guards import check_occurred_at, locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import NotFound, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import check_instance, clean_text, validated
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .counting import store_counts
from .hashes import hash_missing
from .importing import ACTION, hash_key
from .models import (
    AffectedHost,
    AffectedList,
    AffectedOrganization,
    AffectedRecord,
    OrganizationDomain,
    record_host,
)
from .normalize import normalise_host

MAX_DOMAINS = 1000
TOLD_HOW = ("mail", "phone", "letter", "other")


@validated
def group_domains(
    *, actor: User, case: Case, name: str, domains: list[str]
) -> AffectedOrganization:
    """Group ``domains`` (registrable domains of the case's records) into the
    organization ``name`` (created, or extended when it exists). Refused
    when a domain is not in the list, is a free-mail provider's, or is
    grouped already (into another organization). Recounts and appends an
    internal ``organizations_grouped`` event."""
    with locked_case(case, actor=actor, action=ACTION) as locked:
        label = clean_text(name, model=AffectedOrganization, field="name", required=True,
                           message="Name the organization.")  # fmt: skip
        wanted: list[str] = []
        for raw in domains:
            if not isinstance(raw, str) or not raw.strip():
                continue
            try:
                host = normalise_host(raw)
            except ValidationFailed as e:
                raise ValidationFailed(e.message, field="domains") from None
            if host.is_ip or host.domain != host.name:
                raise ValidationFailed(
                    f"{raw.strip()!r} is not a registrable domain"
                    + (f" (its registrable domain is {host.domain})." if host.domain else "."),
                    field="domains",
                )
            if host.name not in wanted:
                wanted.append(host.name)
        if not wanted:
            raise ValidationFailed("Name at least one domain.", field="domains")
        if len(wanted) > MAX_DOMAINS:
            raise ValidationFailed(f"At most {MAX_DOMAINS} domains at a time.", field="domains")
        present = dict(
            AffectedHost.objects.filter(case=locked, domain__in=wanted)
            .values_list("domain", "free_mail")
            .distinct()
        )
        for domain in wanted:
            if domain not in present:
                raise ValidationFailed(f"{domain} is not in the affected list.", field="domains")
            if present[domain]:
                raise ValidationFailed(
                    f"{domain} is a free-mail provider: its users are not one organization.",
                    field="domains",
                )
        org = AffectedOrganization.objects.filter(case=locked, name=label).first()
        taken = OrganizationDomain.objects.filter(case=locked, domain__in=wanted).select_related(
            "organization"
        )
        for row in taken:
            raise TransitionNotAllowed(
                f"{row.domain} is grouped into {row.organization.name} already."
            )
        if org is None:
            org = AffectedOrganization.objects.create(
                case=locked, name=label, created_by=actor, created_at=now()
            )
        OrganizationDomain.objects.bulk_create(
            OrganizationDomain(case=locked, organization=org, domain=d) for d in wanted
        )
        counts = store_counts(locked.pk)
        append_event(
            case=locked,
            kind=EventKind.ORGANIZATIONS_GROUPED,
            actor=actor,
            internal=True,
            payload={
                "organization_id": org.pk,
                "organization": org.name,
                "domains": wanted,
                "counts": counts.counts,
                "suffix_list": counts.suffix_list,
            },
        )
        return org


@validated
def mark_told(
    *,
    actor: User,
    case: Case,
    organization: AffectedOrganization | None,
    how: str,
    note: str = "",
    told_at: datetime | None = None,
) -> AffectedOrganization:
    """Record that a grouped organization was told of the exposure: how
    (mail, phone, letter, other), when (now by default; not in the future
    nor before the case was found) and a note. Once per organization.
    Appends an internal ``organization_told`` event."""
    with locked_case(case, actor=actor, action=ACTION) as locked:
        if organization is None:
            raise ValidationFailed("Choose the organization.", field="organization")
        check_instance(organization, AffectedOrganization, field="organization")
        org = (
            AffectedOrganization.objects.select_for_update()
            .filter(pk=organization.pk, case=locked)
            .first()
        )
        if org is None:
            raise NotFound(f"{locked.reference} has no such organization.", field="organization")
        if org.told_at is not None:
            raise TransitionNotAllowed(
                f"{org.name} was told already ({org.told_how}, {org.told_at.isoformat()})."
            )
        if how not in TOLD_HOW:
            raise ValidationFailed(f"Say how: one of {', '.join(TOLD_HOW)}.", field="how")
        text = clean_text(note, field="note")
        at = check_occurred_at(told_at or now(), not_before=locked.found_at,
                               what="telling it", since="the exposure was found")  # fmt: skip
        org.told_at, org.told_how, org.told_note, org.told_by = at, how, text, actor
        org.save(update_fields=["told_at", "told_how", "told_note", "told_by"])
        append_event(
            case=locked, kind=EventKind.ORGANIZATION_TOLD, actor=actor, occurred_at=at,
            internal=True,
            payload={"organization_id": org.pk, "organization": org.name, "how": how,
                     "note": text},
        )  # fmt: skip
        return org


def _settings_changed(*, actor: User, case: Case, setting: str, value: bool, **extra) -> None:
    append_event(
        case=case, kind=EventKind.AFFECTED_SETTINGS_CHANGED, actor=actor, internal=True,
        payload={"setting": setting, "value": value, **extra},
    )  # fmt: skip


@validated
def set_minimisation(*, actor: User, case: Case, minimise_emails: bool) -> AffectedList:
    """Keep only the keyed hash of e-mail addresses (True) or the addresses
    too for later imports (False). Turning it on also erases the plain
    addresses already imported, in the same transaction; it cannot bring
    them back when turned off. Appends an internal
    ``affected_settings_changed`` event (the setting, its value, how many
    plain addresses were erased) in the same transaction. Refused
    (TransitionNotAllowed, nothing written) when the setting already has
    that value."""
    with locked_case(case, actor=actor, action=ACTION) as locked:
        row, _ = AffectedList.objects.select_for_update().get_or_create(case=locked)
        if row.minimise_emails == minimise_emails:
            raise TransitionNotAllowed(
                f"E-mail minimisation is {'on' if minimise_emails else 'off'} already."
            )
        row.minimise_emails = minimise_emails
        erased = 0
        if minimise_emails:
            row.emails_by_hash = True
            hash_missing(locked.pk, hash_key())
            erased = (
                AffectedRecord.objects.filter(case=locked)
                .exclude(email="")
                .update(host=record_host(), email="")
            )
        row.save(update_fields=["minimise_emails", "emails_by_hash"])
        _settings_changed(actor=actor, case=locked, setting="minimise_emails",
                          value=minimise_emails, erased=erased)  # fmt: skip
        return row


@validated
def set_lookups_enabled(*, actor: User, case: Case, enabled: bool) -> AffectedList:
    """Turn the verified lookup of the case's affected list on or off (the
    lookup app reads ``AffectedList.lookups_enabled``; on by default).
    Appends an internal ``affected_settings_changed`` event in the same
    transaction. Refused (TransitionNotAllowed, nothing written) when the
    switch is in that position already."""
    with locked_case(case, actor=actor, action=ACTION) as locked:
        row, _ = AffectedList.objects.select_for_update().get_or_create(case=locked)
        if row.lookups_enabled == enabled:
            raise TransitionNotAllowed(f"Lookups are {'on' if enabled else 'off'} already.")
        row.lookups_enabled = enabled
        row.save(update_fields=["lookups_enabled"])
        _settings_changed(actor=actor, case=locked, setting="lookups_enabled", value=enabled)
        return row
