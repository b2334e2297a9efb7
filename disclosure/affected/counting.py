"""Counting a case's affected records at every level, each with its method.

Every count is re-computable from the records (``compute_counts``) and
stored with the suffix list's version on the case's AffectedList by the
service that changed the records or their grouping (``store_counts``), so
pages read one row. ``METHODS`` says how each level is counted; the version
of those methods is ``METHOD_VERSION``.
"""

from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q

from disclosure.core.timeutils import now

from .models import (
    AffectedCountry,
    AffectedHost,
    AffectedList,
    AffectedRecord,
    Level,
    OrganizationDomain,
    host_key_sql,
)
from .normalize import suffix_list_version

METHOD_VERSION = 1
METHODS: dict[str, str] = {
    Level.MENTIONS: "Every accepted line of every import, duplicates included.",
    Level.EMAILS: "Distinct e-mail addresses after normalisation (lower case, IDNA host), "
    "counted by their keyed hash once the case minimises.",
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

# Every level but the e-mails from the case's hosts and countries
# (AffectedHost, AffectedCountry: thousands of rows where the records are
# millions), kept by every import in its transaction; one statement.
_LEVEL_SQL = {
    "mentions": "SELECT coalesce(sum(mentions), 0) FROM {hosts} WHERE case_id = %(case)s",
    "hosts": "SELECT count(DISTINCT host) FROM {hosts} WHERE case_id = %(case)s",
    "ips": "SELECT count(DISTINCT host) FROM {hosts} WHERE case_id = %(case)s AND is_ip",
    "domains": "SELECT count(DISTINCT domain) FROM {hosts} "
    "WHERE case_id = %(case)s AND domain <> ''",
    "business_domains": "SELECT count(DISTINCT domain) FROM {hosts} "
    "WHERE case_id = %(case)s AND domain <> '' AND NOT free_mail",
    "countries": "SELECT count(*) FROM {countries} WHERE case_id = %(case)s",
}

# The same levels from the records themselves, each record's host
# normalised through its spelling (a join; slow over millions of rows):
# what the hosts' mentions and the countries must agree with (tests, checks).
_RECORDS = (
    "(SELECT h.host, h.is_ip, h.domain, h.free_mail FROM (SELECT DISTINCT {key} AS s FROM {t} r "
    "WHERE r.case_id = %(case)s) k JOIN {hosts} h ON h.case_id = %(case)s AND h.spelling = k.s)"
)
_RECORD_SQL = {
    "mentions": "SELECT count(*) FROM {t} WHERE case_id = %(case)s",
    "hosts": "SELECT count(DISTINCT host) FROM " + _RECORDS + " x",
    "ips": "SELECT count(DISTINCT host) FROM " + _RECORDS + " x WHERE is_ip",
    "domains": "SELECT count(DISTINCT domain) FROM " + _RECORDS + " x WHERE domain <> ''",
    "business_domains": "SELECT count(DISTINCT domain) FROM "
    + _RECORDS
    + " x WHERE domain <> '' AND NOT free_mail",
    "countries": "SELECT count(DISTINCT upper(country)) FROM {t} "
    "WHERE case_id = %(case)s AND country <> ''",
}


def _levels(case_id: int, queries: dict[str, str]) -> dict[str, int]:
    tables = {
        "t": AffectedRecord._meta.db_table,
        "hosts": AffectedHost._meta.db_table,
        "countries": AffectedCountry._meta.db_table,
        "key": host_key_sql(connection.vendor),
    }
    names = list(queries)
    sql = "SELECT " + ", ".join(f"({queries[n].format(**tables)})" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"case": case_id})
        return dict(zip(names, cursor.fetchone(), strict=True))


def by_hash(case_id: int) -> bool:
    """Whether the case tells addresses apart by their keyed hash: it
    minimises, or did (``AffectedList.emails_by_hash``)."""
    return (
        AffectedList.objects.filter(case_id=case_id)
        .filter(Q(emails_by_hash=True) | Q(minimise_emails=True))
        .exists()
    )


def _email_key(hashed: bool) -> str:
    return "nullif(r.email_hash, '')" if hashed else "nullif(lower(r.email), '')"


def _bytewise(expression: str) -> str:
    """``expression`` compared byte by byte (PostgreSQL: COLLATE "C"), for a
    count of distinct values: the same values are equal under any
    deterministic collation, and sorting by bytes took a quarter less time
    than by the database's collation (1.5 s against 2.0 s for a million
    addresses, bench/affected.py)."""
    return f'({expression}) COLLATE "C"' if connection.vendor == "postgresql" else expression


def distinct_emails(case_id: int) -> int:
    """The e-mail level: distinct normalised addresses (the lower case of
    ``email``: see AffectedRecord), or distinct keyed hashes in a case that
    minimises or did (``by_hash``). One pass over the case's records."""
    table = AffectedRecord._meta.db_table
    sql = (
        f"SELECT count(DISTINCT {_bytewise(_email_key(by_hash(case_id)))}) FROM {table} r "
        "WHERE r.case_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [case_id])
        return int(cursor.fetchone()[0])


def emails_at(spellings: dict[int, list[str]]) -> dict[int, int]:
    """Per case, the distinct addresses (as ``distinct_emails`` tells them
    apart) of its records at the host spellings given: one statement."""
    if not spellings:
        return {}
    records, lists = AffectedRecord._meta.db_table, AffectedList._meta.db_table
    key = host_key_sql(connection.vendor)
    pairs = [(case_id, s) for case_id, names in spellings.items() for s in names]
    hashed = "coalesce(l.emails_by_hash OR l.minimise_emails, false)"
    email = _bytewise(f"CASE WHEN {hashed} THEN {_email_key(True)} ELSE {_email_key(False)} END")
    wanted = " UNION ALL ".join(["SELECT %s AS c, %s AS s"] * len(pairs))
    sql = (
        f"SELECT r.case_id, count(DISTINCT {email}) FROM {records} r "
        f"JOIN ({wanted}) p ON p.c = r.case_id AND p.s = {key} "
        f"LEFT JOIN {lists} l ON l.case_id = r.case_id "
        f"WHERE r.case_id IN ({', '.join(['%s'] * len(spellings))}) GROUP BY r.case_id"
    )
    params = [*(v for pair in pairs for v in pair), *spellings]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(c): int(n) for c, n in cursor.fetchall()}


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


def compute_counts(case_id: int, *, emails: int | None = None) -> dict[str, int]:
    """Every level's count over the case's records: the e-mails by one pass
    over its records (``distinct_emails``; ``emails``, when given, is that
    count as the caller already knows it), the rest from its hosts and
    countries (one statement), the organizations from the grouped domains."""
    levels = _levels(case_id, _LEVEL_SQL)
    emails = distinct_emails(case_id) if emails is None else emails
    return _organizations(case_id, {"mentions": levels.pop("mentions"), "emails": emails, **levels})


def recount_from_records(case_id: int) -> dict[str, int]:
    """The same counts from the records themselves, their hosts normalised
    through their spellings, ignoring the hosts' mentions and the countries
    table (slow on millions of rows: a check that they agree)."""
    levels = _levels(case_id, _RECORD_SQL)
    emails = distinct_emails(case_id)
    return _organizations(case_id, {"mentions": levels.pop("mentions"), "emails": emails, **levels})


def store_counts(case_id: int, *, emails: int | None = None) -> AffectedList:
    """Recompute the case's counts (``compute_counts``) and store them with
    the time and the suffix list's version (inside the caller's transaction)."""
    counts = compute_counts(case_id, emails=emails)
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
