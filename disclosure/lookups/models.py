"""Domain verifications: one row per attempt to prove control of a domain.

A row is *pending* while its challenge may still be met (before
``pending_until``, under the attempts cap, not superseded) and *verified*
once met, until ``valid_until``. The database never holds a usable
challenge: a mailed code is kept only as its HMAC (``secret_hash``), and
a DNS token is derived from ``nonce`` with the deployment's secret key
(lookups.secrets), so neither can be read back from a dump.
"""

from django.conf import settings
from django.db import models


class Method(models.TextChoices):
    ROLE_MAIL = "role_mail", "Code mailed to an RFC 2142 role address"
    SECURITY_TXT_MAIL = "security_txt_mail", "Code mailed to the security.txt contact"
    DNS_TXT = "dns_txt", "DNS TXT record"


class DomainVerification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="domain_verifications"
    )
    # Normalised (affected.normalize): lower-case ASCII (IDNA), no trailing dot.
    domain = models.CharField(max_length=253)
    method = models.CharField(max_length=20, choices=Method.choices)
    # Where the code went (mail), or the TXT record's name (DNS).
    address = models.CharField(max_length=320, blank=True, default="")
    nonce = models.CharField(max_length=64)
    secret_hash = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    pending_until = models.DateTimeField()
    superseded_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "domain"], name="lookup_verif_user_domain")]

    def __str__(self) -> str:
        state = "verified" if self.verified_at else "pending"
        return f"{self.domain} ({self.get_method_display()}, {state})"
