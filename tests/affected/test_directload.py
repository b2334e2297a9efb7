"""The direct load (affected.directload): a clean file is COPYed as written,
and what it holds reads back as the line reader (affected.parsing) reads
it; any other file goes to the next reader and comes out the same; a file
with a bad line is refused with the line's number and reason, nothing
written."""

import io

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure.affected import counting, directload, fastload, grouping, importing
from disclosure.affected.models import (
    AffectedHost,
    AffectedImport,
    AffectedList,
    AffectedRecord,
    host_key_sql,
)
from disclosure.affected.parsing import BadLine, email_hash, parse
from disclosure.cases.stages import Stage
from disclosure.lookups.lookup import _matches
from tests.factories import make_case

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CLEAN = (
    "email,domain,organization,country,found_file,found_path\n"
    "Alice@Contoso.com,,Contoso,US,users.csv,/db/users\n"
    "alice@contoso.com,contoso.com,Contoso,US,users.csv,/db/users\n"
    "bob@Mail.Contoso.COM,contoso.com,Contoso Holdings Ltd,DE,mail.pst,/inbox\n"
    "carol@gmail.com,,,GB,,\n"
    ",shop.fabrikam.co.uk,Fabrikam,GB,,\n"
    ",10.0.0.1,,,,\n"
    ",App.AzureWebsites.NET,,,,\n"
    "dan.o'neil+x@contoso.de,,Contoso GmbH,DE,users.csv,/db/Ümlaut path\n"
)


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def run(actor, case, data: bytes, fmt="csv") -> AffectedImport:
    directload.timings.clear()
    fastload.timings.clear()
    batch = importing.start_import(
        actor=actor, case=case, file=io.BytesIO(data), filename="f", format=fmt
    )
    return importing.run_import(batch_id=batch.pk)


def direct() -> bool:
    return "copy and check" in directload.timings


def as_read(case) -> list[tuple]:
    """The case's records as the line reader gives them: the address's lower
    case (its normalised form), the host normalised through its spelling."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lower(r.email), h.host, r.organization, upper(r.country), r.found_file, "
            "r.found_path FROM affected_affectedrecord r JOIN affected_affectedhost h "
            f"ON h.case_id = r.case_id AND h.spelling = {host_key_sql('postgresql')} "
            "WHERE r.case_id = %s",
            [case.pk],
        )
        return sorted(cursor.fetchall())


def python_read(data: bytes, fmt="csv") -> list[tuple]:
    rows = parse(io.BytesIO(data), fmt, key=importing.hash_key(), keep_email=True)
    return sorted((r[1], r[3], r[7], r[8], r[9], r[10]) for r in rows)


def test_a_clean_file_is_copied_as_written_and_reads_back_as_the_line_reader_reads_it(
    analyst, case
):
    batch = run(analyst, case, CLEAN.encode())
    assert batch.status == AffectedImport.Status.DONE, (batch.message, batch.errors)
    assert direct()
    assert (batch.rows, batch.lines, batch.bad_lines) == (8, 9, 0)
    kept = list(AffectedRecord.objects.filter(case=case).order_by("id")
                .values_list("email", "email_hash", "host", "country"))  # fmt: skip
    assert kept[:3] == [
        ("Alice@Contoso.com", "", "", "US"),
        ("alice@contoso.com", "", "contoso.com", "US"),
        ("bob@Mail.Contoso.COM", "", "contoso.com", "DE"),
    ]
    assert as_read(case) == python_read(CLEAN.encode())
    hosts = dict(AffectedHost.objects.filter(case=case).values_list("spelling", "mentions"))
    assert hosts == {
        "contoso.com": 2, "mail.contoso.com": 1, "gmail.com": 1, "shop.fabrikam.co.uk": 1,
        "10.0.0.1": 1, "app.azurewebsites.net": 1, "contoso.de": 1,
    }  # fmt: skip
    assert AffectedList.objects.get(case=case).counts == {
        "mentions": 8,
        "emails": 4,  # Alice@Contoso.com and alice@contoso.com are one address
        "hosts": 7,
        "ips": 1,
        "domains": 5,
        "business_domains": 4,
        "organizations": 4,
        "countries": 3,
    }
    assert AffectedList.objects.get(case=case).counts == counting.recount_from_records(case.pk)


@pytest.mark.parametrize(
    "line",
    [
        "eve@xn--mnchen-3ya.de,,,",  # IDNA's own form is its normalised form
        "frank@sub.contoso.com,contoso.com,,",  # the domain column agrees
        "o" * 64 + "@contoso.com,,,",  # the longest local part
        "a@contoso.com,,Ümlaut & Söhne,",
    ],
)
def test_clean_lines_at_the_edges_are_copied(analyst, case, line):
    data = f"email,domain,organization,country\nok@contoso.com,,Contoso,US\n{line}\n".encode()
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.DONE, (batch.message, batch.errors)
    assert direct()
    assert as_read(case) == python_read(data)


def test_plain_text_of_addresses_or_of_hosts_is_copied_too(analyst, case):
    emails = b"A@Contoso.com\r\nb@contoso.com\r\na@contoso.com\r\n"
    batch = run(analyst, case, emails, fmt="text")
    assert direct() and (batch.status, batch.rows, batch.lines) == ("done", 3, 3)
    assert as_read(case) == python_read(emails, "text")
    hosts = b"contoso.com\nshop.Fabrikam.co.uk\n10.0.0.1"  # no newline at the end
    batch = run(analyst, case, hosts, fmt="text")
    assert direct() and (batch.status, batch.rows) == ("done", 3)
    assert as_read(case) == sorted(python_read(emails, "text") + python_read(hosts, "text"))
    counts = AffectedList.objects.get(case=case).counts
    assert (counts["mentions"], counts["emails"], counts["hosts"]) == (6, 2, 3)


@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_a_byte_order_mark_is_not_copied(analyst, case, fmt):
    """It was: a plain-text file's first address kept the mark."""
    data = (
        b"\xef\xbb\xbf" + (b"email\n" if fmt == "csv" else b"") + b"a@contoso.com\nb@contoso.com\n"
    )
    batch = run(analyst, case, data, fmt=fmt)
    assert direct() and batch.status == "done"
    assert sorted(AffectedRecord.objects.filter(case=case).values_list("email", flat=True)) == [
        "a@contoso.com",
        "b@contoso.com",
    ]
    assert as_read(case) == python_read(data, fmt)


def test_plain_text_mixing_addresses_and_hosts_or_with_comments_goes_to_the_next_reader(
    analyst, case
):
    data = b"a@contoso.com\ncontoso.com\n# a comment\n\nb@contoso.com\n"
    batch = run(analyst, case, data, fmt="text")
    assert (batch.status, batch.rows, batch.lines) == ("done", 3, 5)
    assert not direct()
    assert as_read(case) == python_read(data, "text")


# Lines the direct load leaves to the next reader, each in a file of clean
# lines: the import gives what the line reader gives.
NOT_CLEAN = [
    '"quoted@contoso.com",,,',
    "spaced@contoso.com ,,,",
    " lead@contoso.com,,,",
    "tab@contoso.com,,Big\tCorp,",
    "two@contoso.com,,Big  Corp,",
    "lower@contoso.com,,,us",
    "dora@münchen.de,,,",
    "dot@contoso.com.,,,",
    ",contoso.com.,,",
    "",
    "nbsp@contoso.com,,Big\u00a0Corp,",  # the line reader makes any whitespace one space
    "em@contoso.com,,Corp\u2003,",  # and strips it at the ends
]


@pytest.mark.parametrize("line", NOT_CLEAN)
def test_a_line_that_is_not_clean_sends_the_file_to_the_next_reader(analyst, case, line):
    data = f"email,domain,organization,country\nok@contoso.com,,Contoso,US\n{line}\n".encode()
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.DONE, (batch.message, batch.errors)
    assert not direct()
    assert as_read(case) == python_read(data)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("x@10.0.0.1,,,", "an address at an IP is not counted"),
        ("a@contoso.com,fabrikam.com,,", "the domain column says 'fabrikam.com'"),
        ("a@contoso.com,,,EU", "not an assigned ISO 3166-1 alpha-2 code"),
        (",,,", "neither an e-mail address nor a domain"),
        ("o" * 65 + "@contoso.com,,,", "bad local part"),
        ("a@contoso.com,,{},".format("x" * 301), "organization is longer than 300"),
        ("a@contoso.com,,,,extra", "5 fields where the header has 4"),
    ],
)
def test_a_bad_line_is_refused_with_its_number_and_reason(analyst, case, line, reason):
    data = f"email,domain,organization,country\nok@contoso.com,,,US\n{line}\n".encode()
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.FAILED
    assert [e["line"] for e in batch.errors] == [3]
    assert reason in batch.errors[0]["reason"]
    assert not AffectedRecord.objects.filter(case=case).exists()
    assert not AffectedHost.objects.filter(case=case).exists()


def test_a_minimising_case_never_takes_the_direct_load(analyst, case):
    AffectedList.objects.create(case=case, minimise_emails=True)
    batch = run(analyst, case, CLEAN.encode())
    assert batch.status == "done" and not direct()
    assert set(AffectedRecord.objects.filter(case=case).values_list("email", flat=True)) == {""}
    assert AffectedList.objects.get(case=case).counts["emails"] == 4


def test_minimising_after_a_direct_load_hashes_the_addresses_and_keeps_their_hosts(analyst, case):
    run(analyst, case, CLEAN.encode())
    grouping.set_minimisation(actor=analyst, case=case, minimise_emails=True)
    key = importing.hash_key()
    rows = set(AffectedRecord.objects.filter(case=case).values_list("email", "email_hash", "host"))
    assert ("", email_hash(key, "bob@mail.contoso.com"), "mail.contoso.com") in rows
    assert ("", email_hash(key, "alice@contoso.com"), "contoso.com") in rows
    assert not AffectedRecord.objects.filter(case=case).exclude(email="").exists()
    assert counting.recount_from_records(case.pk) == AffectedList.objects.get(case=case).counts
    # From now on the case takes the other readers, and counts by hash.
    again = run(analyst, case, b"email\nALICE@contoso.com\nnew@contoso.com\n")
    assert again.status == "done" and not direct()
    assert AffectedList.objects.get(case=case).counts["emails"] == 5


def test_a_second_import_counts_the_addresses_across_both(analyst, case):
    run(analyst, case, CLEAN.encode())
    batch = run(analyst, case, b"email\nALICE@contoso.com\nnew@contoso.com\n")
    assert batch.status == "done" and direct()
    assert AffectedList.objects.get(case=case).counts["emails"] == 5


def test_the_lookup_counts_a_direct_load_by_its_hosts(analyst, case):
    run(analyst, case, CLEAN.encode())
    [row] = _matches("contoso.com", "contoso.com")
    assert (row["mentions"], row["emails"], row["hosts"]) == (3, 2, 2)
    [row] = _matches("mail.contoso.com", "contoso.com")
    assert (row["mentions"], row["emails"], row["hosts"]) == (1, 1, 1)


# Property: whatever the columns and the lines, the import gives what the line
# reader gives (or refuses the file as it does), whichever reader took it.
_PIECES = {
    "email": ["a@contoso.com", "A@Contoso.COM", "b.c@mail.contoso.com", "x@10.0.0.1",
              "d@münchen.de", "e@contoso.com.", " f@contoso.com", "g@", ""],
    "domain": ["", "contoso.com", "Contoso.com", "fabrikam.com", "münchen.de", "10.0.0.2"],
    "organization": ["", "Contoso", "Big Corp", "Big  Corp", "Ümlaut", " Lead", "Big\u00a0Corp",
                     "Corp\u3000"],
    "country": ["", "US", "de", "EU", "GB"],
    "found_path": ["", "/db/users", "/a b/c", "/p\u00a0", " /q", "/x\u2003y"],
}  # fmt: skip
_row = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _PIECES.items()})
_header = (
    st.permutations(list(_PIECES))
    .flatmap(lambda names: st.integers(min_value=1, max_value=len(names)).map(lambda n: names[:n]))
    .filter(lambda names: "email" in names or "domain" in names)
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(_header, st.lists(_row, min_size=1, max_size=12))
def test_any_file_reads_as_the_line_reader_reads_it(analyst, vendor, names, rows):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    lines = [",".join(row[n] for n in names) for row in rows]
    data = (",".join(names) + "\n" + "\n".join(lines) + "\n").encode()
    expected = list(parse(io.BytesIO(data), "csv", key=importing.hash_key(), keep_email=True))
    batch = run(analyst, case, data)
    bad = [{"line": b.line, "reason": b.reason} for b in expected if isinstance(b, BadLine)]
    if bad or not expected:  # refused: bad lines, or only blank ones
        assert (batch.status, batch.errors) == ("failed", bad)
        assert not AffectedRecord.objects.filter(case=case).exists()
    else:
        assert batch.status == "done", (batch.message, batch.errors)
        assert as_read(case) == python_read(data)
        counts = AffectedList.objects.get(case=case).counts
        assert counts == counting.recount_from_records(case.pk)
        assert counts["emails"] == len({r[1] for r in expected if r[1]})


def test_a_line_over_the_limit_goes_to_the_line_reader(analyst, case):
    data = b"email,organization\nok@contoso.com,x\na@contoso.com," + b"y" * 70_000 + b"\n"
    batch = run(analyst, case, data)
    assert batch.status == AffectedImport.Status.FAILED and not direct()
    assert batch.errors == [{"line": 3, "reason": "the line is 70,015 bytes long (at most 65,536)"}]


def test_the_records_table_keeps_unique_ids_without_an_index_on_them(analyst, case):
    """Migration 0007: the ids' B-tree is gone, the BRIN index on the case is
    the table's only index; ids are the identity's alone, and still unique."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'affected_affectedrecord'"
        )
        assert [r[0] for r in cursor.fetchall()] == ["affected_record_case_brin"]
        cursor.execute(
            "SELECT a.attidentity, c.relreplident FROM pg_attribute a JOIN pg_class c "
            "ON c.oid = a.attrelid WHERE c.relname = 'affected_affectedrecord' "
            "AND a.attname = 'id'"
        )
        assert cursor.fetchone() == ("a", "f")  # GENERATED ALWAYS; REPLICA IDENTITY FULL
    run(analyst, case, CLEAN.encode())
    run(analyst, case, b"email\nnew@contoso.com\nother@contoso.com\n")
    ids = list(AffectedRecord.objects.filter(case=case).values_list("id", flat=True))
    assert len(ids) == 10 and len(set(ids)) == 10
    batch = AffectedImport.objects.filter(case=case).first()
    with pytest.raises(DatabaseError, match="GENERATED ALWAYS"), transaction.atomic():
        AffectedRecord.objects.bulk_create(
            [AffectedRecord(id=ids[0], case=case, batch=batch, email="dup@contoso.com")]
        )
