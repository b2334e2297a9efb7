"""A domain's security.txt (RFC 9116), read through the guarded client: the
mailto contacts it names. Fetched from DISCLOSURE_LOOKUP_SECURITY_TXT_URL
(``https://{domain}/.well-known/security.txt``, as RFC 9116 requires HTTPS),
without following redirects, at most 64 KiB."""

from email.utils import parseaddr
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from disclosure.core.errors import ValidationFailed
from disclosure.core.guarded_http import FetchFailed, FetchRefused, guarded_request

MAX_BYTES = 64 * 1024
MAX_CONTACTS = 20


def url_for(domain: str) -> str:
    return settings.DISCLOSURE_LOOKUP_SECURITY_TXT_URL.replace("{domain}", domain)


def parse_contacts(text: str) -> list[str]:
    """The e-mail addresses of the ``Contact: mailto:...`` fields of a
    security.txt, lower case, in order, each once (comments, other fields
    and other URI schemes ignored)."""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        name, colon, value = line.partition(":")
        if not colon or name.strip().lower() != "contact":
            continue
        value = value.strip()
        if not value.lower().startswith("mailto:"):
            continue
        addr = parseaddr(unquote(value[7:].split("?", 1)[0]))[1].strip().lower()
        try:
            validate_email(addr)
        except ValidationError:
            continue
        if addr not in found:
            found.append(addr)
        if len(found) >= MAX_CONTACTS:
            break
    return found


def fetch_contacts(domain: str) -> list[str]:
    """The mailto contacts of ``domain``'s security.txt. ValidationFailed
    (field ``address``) saying why when it cannot be read: refused address,
    no answer, not 200, not text."""
    url = url_for(domain)
    try:
        result = guarded_request("GET", url, max_bytes=MAX_BYTES)
    except (FetchRefused, FetchFailed) as e:
        raise ValidationFailed(f"{url} could not be read: {e.message}", field="address") from None
    if result.status != 200:
        raise ValidationFailed(
            f"{url} answered {result.status} {result.reason}, not a security.txt.", field="address"
        )
    kind = (result.header("Content-Type") or "text/plain").split(";")[0].strip().lower()
    if kind != "text/plain":
        raise ValidationFailed(
            f"{url} is {kind}, not text/plain (RFC 9116): not a security.txt.", field="address"
        )
    return parse_contacts(result.body.decode("utf-8", "replace"))
