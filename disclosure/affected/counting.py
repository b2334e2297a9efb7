"""Counting a case's affected records at every level, each with its method.

Every count is re-computable from the records (``compute_counts``) and
stored with the suffix list's version on the case's AffectedList by the
service that changed the records or their grouping (``store_counts``), so
pages read one row. ``METHODS`` says how each level is counted; the version
of those methods is ``METHOD_VERSION``.
"""

from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef

from disclosure.core.timeutils import now

from .models import (
    AffectedCountry,
    AffectedEmail,
    AffectedHost,
    AffectedList,
    AffectedRecord,
    Level,
    OrganizationDomain,
)
from .normalize import suffix_list_version

METHOD_VERSION = 1
METHODS: dict[str, str] = {
    Level.MENTIONS: "Every accepted line of every import, duplicates included.",
    Level.EMAILS: "Distinct e-mail addresses after normalisation (lower case, IDNA host), "
    "counted by their keyed hash.",
    Level.HOSTS: "Distinct host names (lower case, IDNA, no trailing dot) and IP addresses "
    "of the addresses and domains.",
    Level.DOMAINS: "Distinct registrable domains (public suffix plus one label, private "
    "suffixes on), from the Public Suffix List named; IP addresses have none.",
    Level.BUSINESS_DOMAINS: "Registrable domains with at least one record not at a listed "
    "free-mail provider (data/freemail.txt).",
    Level.ORGANIZATIONS: "Registrable domains without free-mail, where the domains staff "
    "grouped into one organization count once.",
    Level.COUNTRIES: "Distinct two-letter country codes given in the records.",
}
# Shown beside the levels, not a level itself.
EXTRA = ("ips",)


# Each level from the case's distinct tables (AffectedHost, AffectedEmail,
# AffectedCountry: thousands of rows where the records are millions), kept
# by every import in its transaction; one statement.
_LEVEL_SQL = {
    "mentions": "SELECT coalesce(sum(mentions), 0) FROM {hosts} WHERE case_id = %s",
    "emails": "SELECT count(*) FROM {emails} WHERE case_id = %s",
    "hosts": "SELECT count(*) FROM {hosts} WHERE case_id = %s",
    "ips": "SELECT count(*) FROM {hosts} WHERE case_id = %s AND is_ip",
    "domains": "SELECT count(DISTINCT domain) FROM {hosts} WHERE case_id = %s AND domain <> ''",
    "business_domains": "SELECT count(DISTINCT domain) FROM {hosts} "
    "WHERE case_id = %s AND domain <> '' AND NOT free_mail",
    "countries": "SELECT count(*) FROM {countries} WHERE case_id = %s",
}

# The same levels from the records themselves (slow over millions of rows):
# what the distinct tables must agree with (tests, checks).
_RECORD_SQL = {
    "mentions": "SELECT count(*) FROM {t} WHERE case_id = %s",
    "emails": "SELECT count(*) FROM (SELECT DISTINCT email_hash FROM {t} "
    "WHERE case_id = %s AND email_hash <> '') x",
    "hosts": "SELECT count(*) FROM (SELECT DISTINCT host FROM {t} "
    "WHERE case_id = %s AND host <> '') x",
    "ips": "SELECT count(*) FROM (SELECT DISTINCT host FROM {t} WHERE case_id = %s AND is_ip) x",
    "domains": "SELECT count(*) FROM (SELECT DISTINCT domain FROM {t} "
    "WHERE case_id = %s AND domain <> '') x",
    "business_domains": "SELECT count(*) FROM (SELECT DISTINCT domain FROM {t} "
    "WHERE case_id = %s AND domain <> '' AND NOT free_mail) x",
    "countries": "SELECT count(*) FROM (SELECT DISTINCT country FROM {t} "
    "WHERE case_id = %s AND country <> '') x",
}


def _levels(case_id: int, queries: dict[str, str]) -> dict[str, int]:
    tables = {
        "t": AffectedRecord._meta.db_table,
        "hosts": AffectedHost._meta.db_table,
        "emails": AffectedEmail._meta.db_table,
        "countries": AffectedCountry._meta.db_table,
    }
    names = list(queries)
    sql = "SELECT " + ", ".join(f"({queries[n].format(**tables)})" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [case_id] * len(names))
        return dict(zip(names, cursor.fetchone(), strict=True))


def _organizations(case_id: int, found: dict[str, int]) -> dict[str, int]:
    # Grouped domains that occur (not as free-mail): each group counts once.
    present = OrganizationDomain.objects.filter(case_id=case_id).filter(
        Exists(
            AffectedHost.objects.filter(case_id=case_id, domain=OuterRef("domain"), free_mail=False)
        )
    )
    grouped = present.aggregate(
        domains=Count("id"), organizations=Count("organization", distinct=True)
    )
    found["organizations"] = (
        found["business_domains"] - grouped["domains"] + grouped["organizations"]
    )
    return {k: int(v) for k, v in found.items()}


def compute_counts(case_id: int) -> dict[str, int]:
    """Every level's count over the case's records, from its distinct tables
    (two queries: one statement of per-level subqueries, one over the
    grouped domains)."""
    return _organizations(case_id, _levels(case_id, _LEVEL_SQL))


def recount_from_records(case_id: int) -> dict[str, int]:
    """The same counts from the records themselves, ignoring the distinct
    tables (slow on millions of rows: a check that they agree)."""
    return _organizations(case_id, _levels(case_id, _RECORD_SQL))


def store_counts(case_id: int) -> AffectedList:
    """Recompute the case's counts and store them with the time and the
    suffix list's version (inside the caller's transaction)."""
    counts = compute_counts(case_id)
    row, _ = AffectedList.objects.get_or_create(case_id=case_id)
    row.counts, row.counted_at, row.suffix_list = counts, now(), suffix_list_version()
    row.save(update_fields=["counts", "counted_at", "suffix_list"])
    return row


def basis(row: AffectedList, level: str) -> dict[str, Any] | None:
    """The computed count a claim at ``level`` rests on (None before any
    count): level, value, method version, suffix list, when counted."""
    if row.counted_at is None or level not in row.counts:
        return None
    return {
        "level": level,
        "value": row.counts[level],
        "method_version": METHOD_VERSION,
        "suffix_list": row.suffix_list,
        "counted_at": row.counted_at.isoformat(),
    }
