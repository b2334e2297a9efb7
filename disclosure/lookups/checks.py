"""System checks of the verified lookup's settings (``manage.py check``):
the rates and the DNS resolver are read at each request, so a typo would
otherwise first show as an error on a lookup."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured


@register("lookups")
def check_lookup_settings(app_configs=None, **kwargs):
    """lookups.E001 for a rate that is not N/min, N/hour or N/day;
    lookups.E002 for a DNS resolver that is not ``IP[:port]``, comma-separated."""
    from . import dnscheck
    from .limits import parse_rate

    errors = []
    for name in ("ACCOUNT", "ADDRESS", "VERIFY"):
        setting = f"DISCLOSURE_LOOKUP_RATE_{name}"
        try:
            parse_rate(getattr(settings, setting))
        except ImproperlyConfigured as e:
            errors.append(Error(f"{setting}: {e}", id="lookups.E001"))
    try:
        dnscheck.configured_servers()
    except ImproperlyConfigured as e:
        errors.append(Error(str(e), id="lookups.E002"))
    return errors
