"""The TXT records of a name, asked of DISCLOSURE_LOOKUP_DNS_RESOLVER
("host[:port]", several comma-separated; empty: the system's resolver) with
dnspython, within DISCLOSURE_LOOKUP_DNS_TIMEOUT seconds."""

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class TxtAnswer:
    """The TXT strings found (each record's chunks joined), or why none."""

    values: list[str]
    problem: str = ""


def _port(text: str, item: str) -> int:
    if not text.isdigit():
        raise ImproperlyConfigured(f"DISCLOSURE_LOOKUP_DNS_RESOLVER: bad port in {item!r}.")
    return int(text)


def configured_servers() -> dict[str, int]:
    """The resolver's servers and ports from the setting ({} for the system's);
    ImproperlyConfigured when it is malformed."""
    configured = str(settings.DISCLOSURE_LOOKUP_DNS_RESOLVER or "").strip()
    if not configured:
        return {}
    servers: dict[str, int] = {}
    for item in (s.strip() for s in configured.split(",")):
        if not item:
            continue
        host, port = item, 53
        if item.startswith("["):  # [v6]:port
            host, _, rest = item[1:].partition("]")
            port = _port(rest[1:], item) if rest.startswith(":") else 53
        elif item.count(":") == 1:
            host, _, p = item.partition(":")
            port = _port(p, item)
        if not (1 <= port <= 65535):
            raise ImproperlyConfigured(f"DISCLOSURE_LOOKUP_DNS_RESOLVER: bad port in {item!r}.")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ImproperlyConfigured(
                f"DISCLOSURE_LOOKUP_DNS_RESOLVER: give IP addresses, not {host!r}."
            ) from None
        servers[host] = port
    if not servers:
        raise ImproperlyConfigured("DISCLOSURE_LOOKUP_DNS_RESOLVER names no server.")
    return servers


def _resolver() -> dns.resolver.Resolver:
    servers = configured_servers()
    timeout = float(settings.DISCLOSURE_LOOKUP_DNS_TIMEOUT)
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = list(servers)
        resolver.nameserver_ports = dict(servers)
    else:
        resolver = dns.resolver.Resolver()
    resolver.timeout = timeout
    resolver.lifetime = timeout
    return resolver


def txt_values(name: str) -> TxtAnswer:
    """The TXT strings at ``name`` (an ASCII host name), never raising for
    an answer the DNS gives: no such name, no TXT, no server, time-out."""
    try:
        resolver = _resolver()  # the system's: its configuration may be missing
    except dns.exception.DNSException as e:
        return TxtAnswer([], f"No DNS resolver is configured ({type(e).__name__}).")
    try:
        answer = resolver.resolve(dns.name.from_text(name), dns.rdatatype.TXT, search=False)
    except dns.resolver.NXDOMAIN:
        return TxtAnswer([], f"{name} does not exist in the DNS (yet).")
    except dns.resolver.NoAnswer:
        return TxtAnswer([], f"{name} has no TXT record (yet).")
    except dns.resolver.LifetimeTimeout:
        return TxtAnswer([], "The DNS resolver did not answer in time.")
    except dns.resolver.NoNameservers:
        return TxtAnswer([], "No DNS server could answer for the name.")
    except dns.exception.DNSException as e:
        return TxtAnswer([], f"The DNS lookup failed ({type(e).__name__}).")
    values = []
    for record in answer:
        values.append(b"".join(record.strings).decode("utf-8", "replace"))
    return TxtAnswer(values)
