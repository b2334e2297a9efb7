"""Importing affected records: all or nothing, every bad line reported, the
ledger event with the file's SHA-256 and its counts, minimisation."""

import hashlib
import io
import json

import pytest
from django.db import connection

from disclosure.affected import importing
from disclosure.affected.models import AffectedImport, AffectedList, AffectedRecord
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotFound, NotPermitted, TransitionNotAllowed, ValidationFailed
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db

GOOD_CSV = (
    "email,domain,organization,country,found_file,found_path\n"
    "Alice@Contoso.com,,Contoso,US,users.csv,/db/users\n"
    "alice@contoso.com,,Contoso,US,users.csv,/db/users\n"
    "bob@contoso.de,,Contoso GmbH,DE,users.csv,/db/users\n"
    "carol@gmail.com,,,GB,mail.pst,/inbox\n"
    ",shop.fabrikam.co.uk,Fabrikam,GB,,\n"
    ",10.0.0.1,,,,\n"
    ",app.azurewebsites.net,,,,\n"
)


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def run(actor, case, data: bytes, fmt="csv", name="list.csv") -> AffectedImport:
    batch = importing.start_import(
        actor=actor, case=case, file=io.BytesIO(data), filename=name, format=fmt
    )
    return importing.run_import(batch_id=batch.pk)


def test_a_good_csv_is_imported_with_its_counts_and_event(analyst, case):
    data = GOOD_CSV.encode()
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.DONE, batch.message
    assert (batch.rows, batch.bad_lines, batch.lines) == (7, 0, 8)
    assert batch.sha256 == hashlib.sha256(data).hexdigest()
    counts = AffectedList.objects.get(case=case).counts
    assert counts == {
        "mentions": 7,
        "emails": 3,
        "hosts": 6,
        "ips": 1,
        "domains": 5,
        "business_domains": 4,
        "organizations": 4,
        "countries": 3,
    }
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == EventKind.AFFECTED_IMPORTED
    assert event.payload["sha256"] == hashlib.sha256(data).hexdigest()
    assert event.payload["rows"] == 7
    assert event.payload["counts"] == counts
    assert event.payload["suffix_list"].startswith("PSL ")
    assert batch.event_seq == event.seq
    rows = AffectedRecord.objects.filter(case=case).order_by("id")
    # As written (PostgreSQL's direct load) or normalised (the line reader):
    # either way its lower case is the normalised address.
    assert [r.email.lower() for r in rows[:2]] == ["alice@contoso.com", "alice@contoso.com"]
    assert verify_case(case).ok


def test_a_mixed_file_imports_nothing_and_reports_every_bad_line(analyst, case):
    lines = ["email"] + [f"user{i}@example.com" for i in range(50)]
    lines += ["not-an-address"] * 150 + ["", "last@example.com"]
    batch = run(analyst, case, ("\n".join(lines) + "\n").encode())
    assert batch.status == AffectedImport.Status.FAILED
    assert batch.bad_lines == 150
    assert len(batch.errors) == 100
    assert batch.errors[0] == {
        "line": 52,
        "reason": "'not-an-address': not an e-mail address (no local part).",
    }
    assert batch.message.startswith("150 bad lines: nothing was imported.")
    assert AffectedRecord.objects.filter(case=case).count() == 0
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.AFFECTED_IMPORTED).exists()
    assert not AffectedList.objects.filter(case=case, counted_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"email\n\xe9t\xe9@example.com\n", "not UTF-8 (byte 0xe9 at byte 1)"),
        (b"email,country\na@example.com\n", "1 fields where the header has 2"),
        (
            b"email,country\na@example.com,Germany\n",
            "country 'Germany' is not a two-letter ISO 3166 code",
        ),
        (
            b"email,country\na@example.com,uk\n",
            "country 'uk' is not an assigned ISO 3166-1 alpha-2 code",
        ),
        (b"email\na@b@\n", "'a@b@': not an e-mail address (bad local part)."),
        (b"domain\nlocalhost\n", "'localhost' is not a fully qualified host name."),
        (
            b"email,domain\na@contoso.com,fabrikam.com\n",
            "the address is at contoso.com, the domain column says 'fabrikam.com'",
        ),
        (
            b"email\n" + b"x" * (11 * 1024 * 1024) + b"@example.com\n",
            "the line is 11,534,349 bytes long (at most 65,536)",
        ),
    ],
)
def test_bad_lines_are_named_with_their_reason(analyst, case, data, reason):
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.FAILED
    assert batch.errors == [{"line": 2, "reason": reason}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"name,email\nx,a@example.com\n",
            "Unknown column 'name' in the header: use email, "
            "domain, organization, country, found_file, found_path.",
        ),
        (b"country\nDE\n", "The header needs an email or a domain column."),
        (
            "email\na@example.com\n".encode("utf-16"),
            "The file is UTF-16: save it as UTF-8 (with or without a BOM).",
        ),
        (b"\n\n", "The file holds no record."),
    ],
)
def test_an_unreadable_file_is_refused_whole(analyst, case, data, message):
    batch = run(analyst, case, data)
    assert (batch.status, batch.message) == (AffectedImport.Status.FAILED, message)
    assert AffectedRecord.objects.filter(case=case).count() == 0


def test_bom_crlf_blank_lines_text_and_jsonl(analyst, case):
    csv_data = b"\xef\xbb\xbfEmail,Host\r\na@example.com,\r\n\r\n,WWW.Example.COM.\r\n"
    assert run(analyst, case, csv_data).rows == 2
    text = "# comment\nb@example.org\n\nmünchen.de\n2001:db8::1\n".encode()
    assert run(analyst, case, text, fmt="text", name="l.txt").rows == 3
    jsonl = b'{"email": "c@example.net", "country": "fr"}\n{"host": "example.net"}\n'
    assert run(analyst, case, jsonl, fmt="jsonl", name="l.jsonl").rows == 2
    bad = run(analyst, case, b'{"email": 3}\n[1]\n{"x": "y"}\n{bad\n', fmt="jsonl", name="b")
    assert [e["reason"] for e in bad.errors] == [
        "email must be text, not int",
        "not a JSON object",
        "unknown key 'x'",
        "not JSON (Expecting property name enclosed in double quotes at column 2)",
    ]
    hosts = set(AffectedRecord.objects.filter(case=case).values_list("host", flat=True))
    assert hosts == {"example.com", "www.example.com", "example.org", "xn--mnchen-3ya.de",
                     "2001:db8::1", "example.net"}  # fmt: skip


def test_the_same_file_twice_is_refused(analyst, case):
    assert run(analyst, case, GOOD_CSV.encode()).status == AffectedImport.Status.DONE
    again = run(analyst, case, GOOD_CSV.encode())
    assert again.status == AffectedImport.Status.FAILED
    assert "was imported into" in again.message
    assert AffectedRecord.objects.filter(case=case).count() == 7


def test_minimised_case_keeps_no_plain_address(analyst, case):
    AffectedList.objects.create(case=case, minimise_emails=True)
    batch = run(analyst, case, GOOD_CSV.encode())
    assert batch.minimised
    assert set(AffectedRecord.objects.filter(case=case).values_list("email", flat=True)) == {""}
    assert AffectedList.objects.get(case=case).counts["emails"] == 3
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema='public' AND data_type IN ('text','character varying','jsonb')"
            )
            columns = cursor.fetchall()
            for table, column in columns:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',
                    ["%alice@contoso%"],
                )
                assert cursor.fetchone()[0] == 0, (table, column)


def test_who_may_import(case, vendor_contact, other_vendor_contact, legal):
    for actor, error in ((vendor_contact, NotPermitted), (legal, NotPermitted),
                         (other_vendor_contact, NotFound)):  # fmt: skip
        with pytest.raises(error):
            importing.start_import(
                actor=actor, case=case, file=io.BytesIO(b"domain\na.com\n"), filename="f",
                format="csv",
            )  # fmt: skip
    assert AffectedImport.objects.count() == 0


def test_bad_arguments_are_clear_errors(analyst, case):
    with pytest.raises(ValidationFailed, match="Unknown format 'xls'"):
        importing.start_import(
            actor=analyst, case=case, file=io.BytesIO(b"x"), filename="f", format="xls"
        )
    with pytest.raises(ValidationFailed, match="The file is empty"):
        importing.start_import(
            actor=analyst, case=case, file=io.BytesIO(b""), filename="f", format="csv"
        )
    with pytest.raises(NotFound):
        importing.run_import(batch_id=999999)
    assert AffectedImport.objects.count() == 0


def test_a_closed_case_takes_no_import(lead, vendor):
    closed = make_case(Stage.CLOSED, actor=lead, vendor=vendor)
    with pytest.raises(TransitionNotAllowed):
        importing.start_import(
            actor=lead, case=closed, file=io.BytesIO(b"domain\na.com\n"), filename="f",
            format="csv",
        )  # fmt: skip


@pytest.mark.postgres
def test_two_million_rows_import_with_copy(analyst, case):
    lines = b"".join(b"u%d@d%d.example.com\n" % (i, i % 5000) for i in range(2_000_000))
    batch = run(analyst, case, lines, fmt="text", name="big.txt")
    assert (batch.status, batch.rows) == (AffectedImport.Status.DONE, 2_000_000)
    counts = AffectedList.objects.get(case=case).counts
    assert (counts["emails"], counts["hosts"], counts["domains"]) == (2_000_000, 5000, 1)
    assert json.dumps(counts)


MULTILINE_CSV = (
    "email,organization,found_path\n"
    'a@contoso.com,"Contoso\nHoldings",/x\n'
    'b@contoso.com,"Say ""one""\r\nthen two\nthen three",/y\n'
    "c@contoso.com,Plain,/z\n"
)


def test_a_quoted_field_may_span_lines_and_is_one_record(analyst, case):
    batch = run(analyst, case, MULTILINE_CSV.encode())
    assert batch.status == AffectedImport.Status.DONE, (batch.message, batch.errors)
    rows = AffectedRecord.objects.filter(case=case).order_by("id")
    assert [(r.email, r.organization, r.found_path) for r in rows] == [
        ("a@contoso.com", "Contoso Holdings", "/x"),
        ("b@contoso.com", 'Say "one" then two then three', "/y"),
        ("c@contoso.com", "Plain", "/z"),
    ]
    assert batch.lines == 7


def test_a_quoted_field_never_closed_is_a_bad_line_at_its_first_line(analyst, case):
    data = b'email,organization\na@contoso.com,ok\nb@contoso.com,"open\nc@contoso.com,x\n'
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.FAILED
    assert batch.errors == [
        {"line": 3, "reason": "a quoted field opened on this line is never closed"}
    ]
    assert AffectedRecord.objects.filter(case=case).count() == 0


def test_a_quoted_field_open_past_the_line_limit_is_a_bad_line(analyst, case):
    filler = "x" * 1000 + "\n"
    data = ('email,organization\na@contoso.com,"open\n' + filler * 70 + 'closed",\n').encode()
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.FAILED
    assert batch.errors[0] == {
        "line": 2,
        "reason": "a quoted field opened on this line is still open after 65,536 bytes",
    }
    assert AffectedRecord.objects.filter(case=case).count() == 0
