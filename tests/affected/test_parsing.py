"""The line reader itself (affected.parsing), without a database: each
line's row or its exact reason, the limits at their edges, the defaults of
the columns a file leaves out, and the header's rules. Every expected value
is written out (the keyed hash computed here with the standard library)."""

import hashlib
import hmac
import io
import json

import pytest

from disclosure.affected.parsing import BadLine, ImportRefused, parse

KEY = b"k" * 32


def read(text: str, fmt: str = "csv", keep_email: bool = True) -> list:
    return list(parse(io.BytesIO(text.encode()), fmt, key=KEY, keep_email=keep_email))


def keyed(address: str) -> str:
    return hmac.new(KEY, address.encode(), hashlib.sha256).hexdigest()


def test_a_row_with_only_an_address_gets_empty_other_columns():
    assert read("email\nA.B@Contoso.COM\n") == [
        (2, "a.b@contoso.com", keyed("a.b@contoso.com"), "contoso.com", False, "contoso.com",
         False, "", "", "", ""),
    ]  # fmt: skip


def test_minimisation_leaves_the_address_out_and_keeps_its_hash():
    [row] = read("email\nbob@contoso.com\n", keep_email=False)
    assert row[1:3] == ("", keyed("bob@contoso.com"))


def test_every_column_is_cleaned_as_documented():
    text = (
        "email,domain,organization,country,found_file,found_path\n"
        " bob@Mail.Contoso.com , contoso.com ,  Contoso \t  Ltd , gb ,  dump.sql , /t/users \n"
    )
    assert read(text) == [
        (2, "bob@mail.contoso.com", keyed("bob@mail.contoso.com"), "mail.contoso.com", False,
         "contoso.com", False, "Contoso Ltd", "GB", "dump.sql", "/t/users"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("column", "limit"), [("organization", 300), ("found_file", 1000), ("found_path", 1000)]
)
def test_a_value_at_its_limit_is_kept_and_one_more_character_is_a_bad_line(column, limit):
    ok = read(f"domain,{column}\ncontoso.com,{'x' * limit}\n")
    assert len(ok) == 1 and not isinstance(ok[0], BadLine)
    assert read(f"domain,{column}\ncontoso.com,{'x' * (limit + 1)}\n") == [
        BadLine(2, f"{column} is longer than {limit} characters")
    ]


def test_an_address_longer_than_1000_characters_is_a_bad_line():
    assert read(f"email\n{'a' * 989}@contoso.com\n") == [  # 1,001 characters
        BadLine(2, "email is longer than 1000 characters")
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("bob@contoso.com,Con\x07toso", "the line holds a control character"),
        (",", "neither an e-mail address nor a domain"),
        ("bob@co.uk,", None),  # a public suffix's own address: valid, its domain is empty
        ("nobody,", "'nobody': not an e-mail address (no local part)."),
        ("bob@contoso.com,Contoso,extra", "3 fields where the header has 2"),
    ],
)
def test_bad_lines_and_their_reasons(line, reason):
    items = read(f"email,organization\n{line}\n")
    if reason is None:
        assert not isinstance(items[0], BadLine)
    else:
        assert items == [BadLine(2, reason)]


def test_a_domain_column_that_disagrees_names_the_addresses_domain_or_else_its_host():
    text = "email,domain\nbob@mail.contoso.com,fabrikam.com\nann@co.uk,fabrikam.com\n"
    assert read(text) == [
        BadLine(2, "the address is at contoso.com, the domain column says 'fabrikam.com'"),
        BadLine(3, "the address is at co.uk, the domain column says 'fabrikam.com'"),
    ]


@pytest.mark.parametrize(
    ("country", "reason"),
    [
        ("USA", "country 'USA' is not a two-letter ISO 3166 code"),
        ("U1", "country 'U1' is not a two-letter ISO 3166 code"),
        ("UK", "country 'UK' is not an assigned ISO 3166-1 alpha-2 code"),
    ],
)
def test_country_codes(country, reason):
    assert read(f"domain,country\ncontoso.com,{country}\n") == [BadLine(2, reason)]


def test_json_lines_check_each_value_by_name():
    lines = [
        {"email": "bob@contoso.com", "organization": "Con\x07toso"},
        {"email": "bob@contoso.com", "country": 49},
        {"email": "bob@contoso.com", "colour": "red"},
        ["not", "an", "object"],
        {"host": "contoso.com", "file": "a.csv", "path": "/x", "organization": None},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{broken\n"
    assert read(text, "jsonl") == [
        BadLine(1, "organization holds a control character"),
        BadLine(2, "country must be text, not int"),
        BadLine(3, "unknown key 'colour'"),
        BadLine(4, "not a JSON object"),
        (5, "", "", "contoso.com", False, "contoso.com", False, "", "", "a.csv", "/x"),
        BadLine(6, "not JSON (Expecting property name enclosed in double quotes at column 2)"),
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("email,colour", "Unknown column 'colour' in the header: use email, domain, "
                         "organization, country, found_file, found_path."),
        ("email,domain,host", "A column is named twice in the header."),
        ("organization,country", "The header needs an email or a domain column."),
    ],
)  # fmt: skip
def test_the_header_is_checked_before_any_line(header, message):
    with pytest.raises(ImportRefused) as caught:
        read(f"{header}\nbob@contoso.com,x\n")
    assert caught.value.message == message
    assert caught.value.field == "file"


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_minimisation_holds_in_every_format(fmt):
    line = "bob@contoso.com" if fmt == "text" else json.dumps({"email": "bob@contoso.com"})
    [row] = read(line + "\n", fmt, keep_email=False)
    assert row[1:3] == ("", keyed("bob@contoso.com"))


def test_a_stray_quote_inside_a_field_is_not_csv():
    assert read('email,organization\nbob@contoso.com,"Con"to"so"\n') == [
        BadLine(2, "not CSV (',' expected after '\"')")
    ]


def test_a_quoted_field_running_into_an_unreadable_line_names_that_line():
    data = b'email,organization\nbob@contoso.com,"open\n\xffstill\nclosed"\n'
    items = list(parse(io.BytesIO(data), "csv", key=KEY, keep_email=True))
    assert items[0] == BadLine(
        2, "a quoted field opened on this line runs into line 3: not UTF-8 (byte 0xff at byte 1)"
    )
