"""How an affected record's names are normalised before they are counted.

- host names: surrounding space and trailing dots removed, lower case, IDNA
  (UTS #46 mapping, IDNA 2008) to their ASCII form (``münchen.de`` and
  ``xn--mnchen-3ya.de`` are one host);
- IP addresses (v4, v6, with or without brackets) are set apart: they have
  no registrable domain;
- the registrable domain comes from tldextract on the Public Suffix List
  snapshot bundled with the package, offline (no fetch at run time), with
  the private suffixes on, so ``app.azurewebsites.net`` is its own
  registrable domain and not Microsoft's;
- free-mail providers are flagged from ``data/freemail.txt``, and country
  codes checked against ``data/iso3166.txt`` (each names its source in its
  header).

Every function is pure and cached: an import of millions of rows meets the
same few thousand hosts again and again.
"""

import ipaddress
import pkgutil
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import idna
import tldextract

from disclosure.core.errors import ValidationFailed

_FREEMAIL_FILE = Path(__file__).with_name("data") / "freemail.txt"
_COUNTRY_FILE = Path(__file__).with_name("data") / "iso3166.txt"
# RFC 1035: 253 characters for a name, 63 for a label.
_MAX_HOST = 253
_LOCAL_PART = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")


@dataclass(frozen=True)
class Host:
    """A normalised host: ``name`` (ASCII, lower case; an IP in its
    compressed form), ``is_ip``, ``domain`` (its registrable domain; "" for
    an IP or a name under no public suffix) and ``free_mail``."""

    name: str
    is_ip: bool
    domain: str
    free_mail: bool


@cache
def _extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() and cache_dir=None: the bundled snapshot only,
    # never a download nor a cache file.
    return tldextract.TLDExtract(
        suffix_list_urls=(), include_psl_private_domains=True, cache_dir=None
    )


@cache
def suffix_list_version() -> str:
    """The version of the Public Suffix List the counts rest on, e.g.
    ``"PSL 2025-04-07_15-51-09_UTC (tldextract 5.4.0 snapshot)"``."""
    data = pkgutil.get_data("tldextract", ".tld_set_snapshot") or b""
    version = ""
    for line in data.decode("utf-8", "replace").splitlines()[:40]:
        if line.startswith("// VERSION:"):
            version = line.split(":", 1)[1].strip()
            break
    return f"PSL {version or 'unknown'} (tldextract {tldextract.__version__} snapshot)"


@cache
def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes of ``data/iso3166.txt`` (its source is
    named in its header), upper case."""
    lines = _COUNTRY_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s for s in (x.strip() for x in lines) if s and not s.startswith("#"))


@cache
def free_mail_domains() -> frozenset[str]:
    """The free-mail provider domains of ``data/freemail.txt``."""
    lines = _FREEMAIL_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(s for s in (x.strip() for x in lines) if s and not s.startswith("#"))


def _ip(text: str) -> str | None:
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_address(candidate).compressed
    except ValueError:
        return None


# A name of lower-case letters, digits and inner hyphens (at most 63 a
# label): IDNA (UTS 46) gives it back unchanged, unless a label holds "--"
# (xn-- and the reserved third-and-fourth-place hyphens), which it checks.
_LDH = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def _idna(text: str, value: str) -> str:
    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as e:
        raise ValidationFailed(
            f"{value!r} is not a valid host name ({e}).", field="domain"
        ) from None
    except UnicodeError:
        raise ValidationFailed(f"{value!r} is not a valid host name.", field="domain") from None


@lru_cache(maxsize=200_000)
def normalise_host(value: str) -> Host:
    """``value`` as a normalised Host; ValidationFailed (saying why) when it
    is not a host name or an IP address."""
    text = value.strip().rstrip(".")
    if not text:
        raise ValidationFailed("The host is empty.", field="domain")
    address = _ip(text)
    if address is not None:
        return Host(name=address, is_ip=True, domain="", free_mail=False)
    lowered = text.lower()
    if len(lowered) <= _MAX_HOST and "--" not in lowered and _LDH.fullmatch(lowered):
        name = lowered  # what IDNA makes of it, at a tenth of the cost
    else:
        name = _idna(text, value)
    if len(name) > _MAX_HOST:
        raise ValidationFailed(
            f"The host name is {len(name)} characters long (at most {_MAX_HOST}).", field="domain"
        )
    if "." not in name:
        raise ValidationFailed(f"{value!r} is not a fully qualified host name.", field="domain")
    domain = _extractor()(name).top_domain_under_public_suffix
    free = name in free_mail_domains() or domain in free_mail_domains()
    return Host(name=name, is_ip=False, domain=domain, free_mail=free)


def normalise_email(value: str) -> tuple[str, Host]:
    """``value`` as (normalised address, its Host): the local part kept as
    written but lower-cased (providers treat it so in practice), the host
    normalised. ValidationFailed when it is not an address."""
    text = value.strip()
    local, at, host = text.rpartition("@")
    if not at or not local:
        raise ValidationFailed(f"{value!r}: not an e-mail address (no local part).", field="email")
    if not _LOCAL_PART.match(local) or local.startswith(".") or ".." in local:
        raise ValidationFailed(f"{value!r}: not an e-mail address (bad local part).", field="email")
    try:
        parsed = normalise_host(host)
    except ValidationFailed as e:
        raise ValidationFailed(f"{value!r}: {e.message}", field="email") from None
    if parsed.is_ip:
        raise ValidationFailed(f"{value!r}: an address at an IP is not counted.", field="email")
    return f"{local.lower()}@{parsed.name}", parsed


def display_host(name: str) -> str:
    """An ASCII host in its Unicode form for people (``xn--mnchen-3ya.de``
    shows as ``münchen.de``); unchanged when it does not decode."""
    if "xn--" not in name:
        return name
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name
