"""The set-based PostgreSQL import (affected.fastload) gives what the
line-by-line reader (affected.parsing) gives: the same records, the same
bad lines with the same numbers and reasons, the same counts; its staging
tables do not outlive the import; the keyed hash computed in SQL is the
Python one."""

import io

import pytest
from django.db import connection

from disclosure.affected import counting, fastload, hashes, importing
from disclosure.affected.models import AffectedHost, AffectedImport, AffectedList, AffectedRecord
from disclosure.affected.parsing import ROW_COLUMNS, BadLine, email_hash, parse
from disclosure.cases.stages import Stage
from tests.factories import make_case

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Simple lines (SQL reads them) among odd ones (the Python reader does):
# quoted fields, IDN, a tab, CR LF, blank lines, a BOM, a domain column.
MIXED = (
    "\ufeffemail,domain,organization,country,found_file,found_path\r\n"
    "Alice@Contoso.com,,Contoso,us,users.csv,/db/users\r\n"
    '"bob@contoso.de",,"Contoso, GmbH",DE,users.csv,/db/users\r\n'
    "\r\n"
    "  carol@gmail.com ,,  Big   Corp\t Ltd ,GB,mail.pst,/inbox\r\n"
    "dora@münchen.de,,Stadt,DE,,\r\n"
    ",shop.fabrikam.co.uk,Fabrikam,GB,,\r\n"
    ",10.0.0.1,,,,\r\n"
    ",App.AzureWebsites.NET.,,,,\r\n"
    "eve@xn--mnchen-3ya.de,münchen.de,,,,\r\n"
    "   \t \r\n"
    "frank@sub.contoso.com,contoso.com,,,,\r\n"
).encode()

BAD = (
    "email,domain,country\n"
    "ok@contoso.com,,US\n"
    "no-at-sign,,\n"
    "a@contoso.com,fabrikam.com,\n"
    '"quoted@contoso.com",,Germany\n'
    "x@10.0.0.1,,\n"
    ",localhost,\n"
    ",,\n"
    "a@b@c.com,,\n"
    ".a@contoso.com,,\n"
    "a..b@contoso.com,,\n"
    "a@,,\n"
    "ok2@contoso.com,,US,extra\n"
    "ü@contoso.com,,\n"
    "ok3@contoso.com,,EU\n"
).encode()


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def run(actor, case, data: bytes, fmt="csv") -> AffectedImport:
    batch = importing.start_import(
        actor=actor, case=case, file=io.BytesIO(data), filename="f", format=fmt
    )
    return importing.run_import(batch_id=batch.pk)


def python_rows(data: bytes, fmt="csv"):
    return list(parse(io.BytesIO(data), fmt, key=importing.hash_key(), keep_email=True))


COLUMNS = ("email", "email_hash", "host", "organization", "country", "found_file", "found_path")
# Each Row's values the records keep (parsing.ROW_COLUMNS without the line
# number and the host's normalisation, which AffectedHost keeps).
KEPT = [ROW_COLUMNS.index(c) for c in COLUMNS]


def records(case) -> list[tuple]:
    """The case's records, sorted (the set-based path writes the lines SQL
    read before those Python read)."""
    return sorted(AffectedRecord.objects.filter(case=case).values_list(*COLUMNS))


def kept(rows) -> list[tuple]:
    return sorted(tuple(r[i] for i in KEPT) for r in rows)


def hosts(case) -> dict[str, tuple]:
    """spelling: (host, is_ip, domain, free_mail, mentions)"""
    rows = AffectedHost.objects.filter(case=case).values_list(
        "spelling", "host", "is_ip", "domain", "free_mail", "mentions"
    )
    return {r[0]: r[1:] for r in rows}


def test_a_mixed_file_loads_as_the_python_reader_reads_it(analyst, case):
    batch = run(analyst, case, MIXED)
    assert batch.status == AffectedImport.Status.DONE, (batch.message, batch.errors)
    assert "copy lines" in fastload.timings  # the set-based path ran
    assert (batch.rows, batch.lines) == (9, 12)
    got = records(case)
    assert got == kept(python_rows(MIXED))
    by_email = {r[0]: r for r in got}
    assert by_email["alice@contoso.com"][2:] == (
        "contoso.com", "Contoso", "US", "users.csv", "/db/users",
    )  # fmt: skip
    assert by_email["bob@contoso.de"][3] == "Contoso, GmbH"
    assert by_email["carol@gmail.com"][3] == "Big Corp Ltd"
    assert by_email["dora@xn--mnchen-3ya.de"][2] == "xn--mnchen-3ya.de"
    known = hosts(case)
    assert known["gmail.com"] == ("gmail.com", False, "gmail.com", True, 1)
    assert known["app.azurewebsites.net"][:3] == ("app.azurewebsites.net", False,
                                                  "app.azurewebsites.net")  # fmt: skip
    assert known["10.0.0.1"] == ("10.0.0.1", True, "", False, 1)


def test_the_counts_from_the_distinct_tables_equal_the_counts_from_the_records(analyst, case):
    run(analyst, case, MIXED)
    run(analyst, case, b"domain\ncontoso.com\nnew.example.org\n")
    stored = AffectedList.objects.get(case=case).counts
    assert stored == counting.recount_from_records(case.pk)
    assert stored == {
        "mentions": 11, "emails": 6, "hosts": 9, "ips": 1, "domains": 7,
        "business_domains": 6, "organizations": 6, "countries": 3,
    }  # fmt: skip


def test_bad_lines_have_the_python_readers_numbers_and_reasons(analyst, case):
    batch = run(analyst, case, BAD)
    assert batch.status == AffectedImport.Status.FAILED
    expected = [{"line": b.line, "reason": b.reason} for b in python_rows(BAD)
                if isinstance(b, BadLine)]  # fmt: skip
    assert batch.errors == expected
    assert [e["line"] for e in batch.errors] == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert batch.errors[1] == {
        "line": 4,
        "reason": "the address is at contoso.com, the domain column says 'fabrikam.com'",
    }
    assert batch.errors[-1] == {
        "line": 15,
        "reason": "country 'EU' is not an assigned ISO 3166-1 alpha-2 code",
    }
    assert batch.lines == 15
    assert AffectedRecord.objects.filter(case=case).count() == 0


def test_plain_text_with_comments(analyst, case):
    data = b"# exported 2022\nA@Contoso.com\n\n  shop.fabrikam.co.uk  \n#x@y.com\n10.0.0.1\n"
    batch = run(analyst, case, data, fmt="text")
    assert (batch.status, batch.rows, batch.lines) == ("done", 3, 6)
    assert records(case) == kept(python_rows(data, "text"))


def test_the_staging_tables_end_with_the_import(analyst, case):
    AffectedList.objects.create(case=case, minimise_emails=True)
    assert run(analyst, case, MIXED).status == "done"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relpersistence = 't' "
            "AND relname LIKE 'affected_%%'"
        )
        assert cursor.fetchone()[0] == 0
    assert set(AffectedRecord.objects.filter(case=case).values_list("email", flat=True)) == {""}


def test_a_file_the_sql_path_cannot_take_falls_back_to_the_python_reader(analyst, case):
    data = b"email\na@contoso.com\n\xe9t\xe9@example.com\n"
    batch = run(analyst, case, data)
    assert batch.errors == [{"line": 3, "reason": "not UTF-8 (byte 0xe9 at byte 1)"}]
    jsonl = b'{"email": "a@contoso.com"}\n'
    assert run(analyst, case, jsonl, fmt="jsonl").rows == 1


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"long key " * 20])
def test_the_sql_keyed_hash_is_hmac_sha256(key):
    ipad, opad = hashes.hmac_pads(key)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT encode(sha256(%s::bytea || sha256(%s::bytea || convert_to(%s, 'UTF8'))),"
            " 'hex')",
            [opad, ipad, "dora@xn--mnchen-3ya.de"],
        )
        assert cursor.fetchone()[0] == email_hash(key, "dora@xn--mnchen-3ya.de")


def test_a_quoted_field_spanning_lines_sends_the_file_to_the_python_reader(analyst, case):
    data = (
        "email,organization,found_path\n"
        + "a@contoso.com,Contoso,/x\n" * 3
        + 'b@contoso.com,"Two\nlines",/y\n'
        + "c@contoso.com,Plain,/z\n"
    ).encode()
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.DONE, (batch.message, batch.errors)
    assert "copy lines" not in fastload.timings  # the stage gave the file back whole
    got = records(case)
    assert got == kept(python_rows(data))
    assert sorted(r[3] for r in got) == ["Contoso", "Contoso", "Contoso", "Plain", "Two lines"]
