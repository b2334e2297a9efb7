"""The direct load's line checker (affected.cleanlines), without a database:
which lines are clean, and what a clean file holds."""

import pytest

from disclosure.affected.cleanlines import Checker, NotClean

HEADER = ["email", "domain", "organization", "country", "found_file", "found_path"]


def check(lines: list[str], names=HEADER, ending="\n", emails=True, blocks=1):
    """The Checker's result over ``lines``, fed in ``blocks`` blocks."""
    checker = Checker(names, ending.encode(), emails=emails)
    data = [(line + ending).encode() for line in lines]
    size = -(-len(data) // blocks)
    for start in range(0, len(data), size):
        checker.feed(b"".join(data[start : start + size]))
    return checker.result()


def hosts(result) -> dict[str, tuple]:
    return {s: (h.name, h.is_ip, h.domain, h.free_mail, n) for s, (h, n) in result.hosts.items()}


def test_a_clean_file_and_what_it_holds():
    result = check(
        [
            "Alice@Contoso.com,,Contoso,US,users.csv,/db/users",
            "alice@contoso.com,contoso.com,Contoso,US,users.csv,/db/users",
            "bob@Mail.Contoso.COM,contoso.com,Contoso Ltd,DE,,",
            "carol@gmail.com,,,GB,,",
            ",shop.fabrikam.co.uk,Fabrikam,,,",
            ",10.0.0.1,,,,",
        ],
        blocks=3,
    )
    assert result.rows == 6
    assert hosts(result) == {
        "contoso.com": ("contoso.com", False, "contoso.com", False, 2),
        "mail.contoso.com": ("mail.contoso.com", False, "contoso.com", False, 1),
        "gmail.com": ("gmail.com", False, "gmail.com", True, 1),
        "shop.fabrikam.co.uk": ("shop.fabrikam.co.uk", False, "fabrikam.co.uk", False, 1),
        "10.0.0.1": ("10.0.0.1", True, "", False, 1),
    }
    assert result.countries == {"US", "DE", "GB"}
    assert result.emails == 3


@pytest.mark.parametrize(
    "names",
    [
        ["domain", "email"],
        ["organization", "email", "country", "domain"],
        ["country", "organization", "domain", "email", "found_path"],
    ],
)
def test_any_order_of_columns(names):
    values = {"email": "Bob@Mail.Contoso.com", "domain": "contoso.com", "organization": "C",
              "country": "DE", "found_path": "/p"}  # fmt: skip
    other = {"email": "", "domain": "fabrikam.com", "organization": "", "country": "",
             "found_path": ""}  # fmt: skip
    lines = [",".join(values[n] for n in names), ",".join(other[n] for n in names)]
    result = check(lines, names=names)
    assert {s: n for s, (_, n) in result.hosts.items()} == {"mail.contoso.com": 1,
                                                             "fabrikam.com": 1}  # fmt: skip
    assert result.countries == ({"DE"} if "country" in names else set())
    assert result.emails == 1


def test_a_domain_only_file_and_crlf():
    result = check(["contoso.com", "Contoso.com", "a.b.contoso.co.uk"], names=["domain"],
                   ending="\r\n")  # fmt: skip
    assert {s: n for s, (_, n) in result.hosts.items()} == {"contoso.com": 2,
                                                             "a.b.contoso.co.uk": 1}  # fmt: skip
    assert result.emails is None  # no address column


def test_the_addresses_are_counted_only_when_asked():
    checker = Checker(["email"], b"\n")
    checker.feed(b"a@contoso.com\nA@contoso.com\n")
    assert (checker.result().rows, checker.result().emails) == (2, None)


def test_the_last_line_may_lack_its_ending():
    checker = Checker(["email"], b"\n", emails=True)
    checker.feed(b"a@contoso.com\nb@contoso.com")
    assert (checker.result().rows, checker.result().emails) == (2, 2)


@pytest.mark.parametrize(
    "line",
    [
        '"a@contoso.com",,,,,',  # a quote
        " a@contoso.com,,,,,",  # a leading space
        "a@contoso.com ,,,,,",  # a trailing space
        "a@contoso.com,,Big\tCorp,,,",  # a tab
        "a@contoso.com,,Big  Corp,,,",  # two spaces
        "a@contoso.com,,Corp ,,,",  # a field ending in a space
        "a@contoso.com,,,us,,",  # a lower-case country
        "a@contoso.com,,,EU,,",  # an unassigned country
        "a@contoso.com,,,USA,,",  # three letters
        "a@contoso.com,,,,,,",  # a field too many
        "a@contoso.com,,,,",  # a field too few
        ",,,,,",  # neither an address nor a domain
        "",  # a blank line
        "a@münchen.de,,,,,",  # a host IDNA would change
        "a@contoso.com.,,,,,",  # a trailing dot
        "a@10.0.0.1,,,,,",  # an address at an IP
        "a@contoso.com,fabrikam.com,,,,",  # a domain column that disagrees
        "a@localhost,,,,,",  # not a fully qualified name
        ".a@contoso.com,,,,,",  # a local part starting with a dot
        "a..b@contoso.com,,,,,",  # two dots in a row
        "a.@contoso.com,,,,,",  # a local part ending with a dot (the line reader takes it)
        "o" * 65 + "@contoso.com,,,,,",  # a local part over 64
        "ü@contoso.com,,,,,",  # a non-ASCII local part
        "a@b@contoso.com,,,,,",  # two @
        "a@,,,,,",  # no host
        "a@contoso.com,,Corp\x01,,,",  # a control character
        "a@contoso.com\r,,,,,",  # a carriage return in a LF file
        "a@contoso.com,,Big\u00a0Corp,,,",  # other whitespace: the line reader makes it a space
        "a@contoso.com,,Big\u2003Corp,,,",
        "a@contoso.com,,Corp\u3000,,,",  # and strips it at the ends
        "a@contoso.com,,,,f.csv\u00a0,",
        "a@contoso.com,,,,,\u2028/p",
        "a@contoso.com,,Corp\x85,,,",  # NEL: whitespace to Python
        "a@contoso.com,,Co\x9frp,,,",  # a C1 control character (the line reader keeps it)
        "a@contoso.com,,,,f\x7f.csv,",  # DEL
    ],
)
def test_a_line_that_is_not_clean(line):
    with pytest.raises(NotClean):
        check(["ok@contoso.com,,,US,,", line])


@pytest.mark.parametrize(
    "line",
    [
        "o" * 64 + "@contoso.com,,,,,",
        "dan.o'neil+x@contoso.de,,,,,",
        "a@xn--mnchen-3ya.de,,,,,",
        "a@sub.contoso.com,contoso.com,,,,",
        "a@contoso.com,,Ümlaut & Söhne,,f.csv,/a b/c",
        ",2001:db8::1,,,,",
    ],
)
def test_clean_lines_at_the_edges(line):
    assert check(["ok@contoso.com,,,US,,", line]).rows == 2


def test_a_crlf_file_must_end_every_line_so():
    with pytest.raises(NotClean):
        check(["a@contoso.com", "b@contoso.com\n"], names=["email"], ending="\r\n")


def test_bytes_that_are_not_utf8_are_not_clean():
    checker = Checker(HEADER, b"\n")
    with pytest.raises(NotClean):
        checker.feed(b"a@contoso.com,,Corp\xff,,,\n")


def test_a_block_without_lines_is_not_clean():
    with pytest.raises(NotClean):
        Checker(["email"], b"\n").feed(b"")


def test_the_distinct_addresses_apart_from_the_rest():
    checker = Checker(["email"], b"\n", emails=True)
    checker.feed(b"a@contoso.com\nA@CONTOSO.com\nb@contoso.com\n")
    assert (checker.result(emails=False).emails, checker.distinct_emails()) == (None, 2)
    assert Checker(["domain"], b"\n", emails=True).distinct_emails() is None
