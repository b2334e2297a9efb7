"""Domain names as the lookups take them: normalised as the affected records
are (affected.normalize: lower case, IDNA, no trailing dot), a host name at
or below a registrable domain (never an IP address, never a public suffix:
``azurewebsites.net`` would cover every customer's app)."""

from disclosure.affected.normalize import normalise_host
from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import clean_text


def normalise_domain(value: str, *, field: str = "domain") -> str:
    """``value`` as a normalised host name under a public suffix;
    ValidationFailed (with ``field``) saying why not."""
    text = clean_text(value, field=field, label="domain", required=True,
                      message="Enter a domain name, e.g. example.com.")  # fmt: skip
    if len(text) > 300:
        raise ValidationFailed("The domain name is too long.", field=field)
    try:
        host = normalise_host(text)
    except ValidationFailed as e:
        raise ValidationFailed(e.message, field=field) from None
    if host.is_ip:
        raise ValidationFailed(
            f"{text} is an IP address: give a domain name, e.g. example.com.", field=field
        )
    if not host.domain:
        raise ValidationFailed(
            f"{text} is a public suffix (its subdomains belong to many owners) or not under a "
            "known one: give a domain one organization controls, e.g. example.com.",
            field=field,
        )
    return host.name


def registrable(name: str) -> str:
    """The registrable domain of a normalised ``name``."""
    return normalise_host(name).domain


def covering_names(name: str) -> list[str]:
    """``name`` and its parents down to its registrable domain, longest
    first: the verified domains that cover it (``a.b.example.com`` ->
    ``[a.b.example.com, b.example.com, example.com]``)."""
    top = registrable(name)
    if not top:
        return []
    out = [name]
    current = name
    while current != top and "." in current:
        current = current.partition(".")[2]
        out.append(current)
    return out if out[-1] == top else [name]
