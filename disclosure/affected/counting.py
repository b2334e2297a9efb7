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

from .models import AffectedList, AffectedRecord, Level, OrganizationDomain
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


# Each level as its own DISTINCT subquery (hashed, not sorted, on
# PostgreSQL), all in one statement over the case's rows.
_LEVEL_SQL = {
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


def compute_counts(case_id: int) -> dict[str, int]:
    """Every level's count over the case's records, from the records (two
    queries: one statement of per-level DISTINCT subqueries, one over the
    grouped domains)."""
    table = AffectedRecord._meta.db_table
    names = list(_LEVEL_SQL)
    sql = "SELECT " + ", ".join(f"({_LEVEL_SQL[n].format(t=table)})" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [case_id] * len(names))
        found = dict(zip(names, cursor.fetchone(), strict=True))
    # Grouped domains that occur (not as free-mail): each group counts once.
    present = OrganizationDomain.objects.filter(case_id=case_id).filter(
        Exists(
            AffectedRecord.objects.filter(
                case_id=case_id, domain=OuterRef("domain"), free_mail=False
            )
        )
    )
    grouped = present.aggregate(
        domains=Count("id"), organizations=Count("organization", distinct=True)
    )
    found["organizations"] = (
        found["business_domains"] - grouped["domains"] + grouped["organizations"]
    )
    return {k: int(v) for k, v in found.items()}


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
