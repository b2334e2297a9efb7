"""The case's distinct hosts and countries, kept by every import in its
transaction: the hosts and countries levels, the lookup and the grouping
read these few rows instead of the records (affected.models)."""

from collections.abc import Iterable

from django.db import connection

from .models import AffectedCountry, AffectedHost

# (spelling, host, is_ip, domain, free_mail, mentions)
HostRow = tuple[str, str, bool, str, bool, int]


def add_hosts(case_id: int, rows: Iterable[HostRow]) -> None:
    """Add each spelling's mentions to the case's hosts (a new spelling is
    added with its normalisation). On PostgreSQL, one merge of the rows
    COPYed into a temporary table."""
    rows = list(rows)
    if not rows:
        return
    table = AffectedHost._meta.db_table
    conflict = (
        "ON CONFLICT (case_id, spelling) DO UPDATE "
        f"SET mentions = {table}.mentions + excluded.mentions"
    )
    columns = "case_id, spelling, host, is_ip, domain, free_mail, mentions"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPYed into a table of the transaction, then merged: a third of
            # the time of passing them as arrays.
            cursor.execute(
                "CREATE TEMPORARY TABLE affected_hosts_in (spelling text, host text, is_ip bool, "
                "domain text, free_mail bool, mentions bigint) ON COMMIT DROP"
            )
            with cursor.cursor.copy("COPY affected_hosts_in FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, * FROM affected_hosts_in " + conflict,
                [case_id],
            )
            cursor.execute("DROP TABLE affected_hosts_in")
            return
        cursor.executemany(
            f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s) " + conflict,
            [(case_id, *row) for row in rows],
        )


def add_countries(case_id: int, codes: Iterable[str]) -> None:
    """Add the country codes the case does not hold yet."""
    codes = sorted(set(codes) - {""})
    if not codes:
        return
    table = AffectedCountry._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (case_id, country) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [(case_id, code) for code in codes],
        )
