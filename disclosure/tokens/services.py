"""Creating, using and revoking API tokens.

A token is ``dsc_`` followed by 40 random URL-safe characters. It is shown
once, when created; the database keeps only its SHA-256, which is how a
request's token is found (a lookup on a unique index: the secret has 240
bits of entropy, so a fast hash is enough and no timing of a string
comparison is exposed).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from disclosure.accounts.models import User
from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated

from . import selectors
from .models import ApiToken, Scope

TOKEN_PREFIX = "dsc_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
# ``last_used_at`` is written at most this often per token, so that reading
# through the API does not write a row on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret, which is never available again."""

    token: ApiToken
    secret: str


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


@validated
def create_token(
    *, user: User, name: str, scope: str = Scope.READ, days: int = DEFAULT_DAYS
) -> IssuedToken:
    """Issue a token for ``user`` (who must be active), named ``name`` (unique
    among their tokens), with ``scope``, valid for ``days`` (1 to 366).
    Returns the token and its secret, shown once; only the hash is stored.
    Malformed arguments (``user`` None, unsaved or anonymous, an unknown
    keyword, a non-text name or scope) are domain errors, never raw ones."""
    name = clean_text(name, model=ApiToken, field="name", required=True,
                      message="Give the token a name: what is it for?")  # fmt: skip
    if scope not in Scope.values:
        raise ValidationFailed(f"Unknown scope {scope!r}: use read or read_write.", field="scope")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(f"A token is valid for 1 to {MAX_DAYS} days.", field="days")
    if not user.is_active:
        raise ValidationFailed("An inactive user cannot have tokens.", field="user")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                prefix=secret[: len(TOKEN_PREFIX) + 6],
                key_hash=hash_token(secret),
                scope=scope,
                expires_at=now() + timedelta(days=days),
            )
    except IntegrityError:
        raise ValidationFailed(f"You have a token named {name!r} already.", field="name") from None
    return IssuedToken(token=token, secret=secret)


class TokenRefused(Exception):
    """The presented token is unknown, revoked or expired (message says which
    of the last two; an unknown token is not described)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def authenticate(raw: str, *, at: datetime | None = None) -> ApiToken:
    """The active token whose secret is ``raw``, with its user and what the
    access rules know of them (one query: token, user and memberships; a
    second, at most once a minute per token, records when it was last used).
    Nothing is cached across requests: a revoked token, a deactivated user or
    a removed membership counts from the next request on. Raises TokenRefused
    for an unknown, revoked or expired token or an inactive user."""
    at = at or now()
    token = selectors.token_by_hash(hash_token(raw))
    if token is None or not token.user.is_active:
        raise TokenRefused("Invalid token.", "token_invalid")
    if token.revoked_at is not None:
        raise TokenRefused("This token was revoked.", "token_revoked")
    if token.expires_at <= at:
        raise TokenRefused("This token has expired.", "token_expired")
    if token.last_used_at is None or at - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
        token.last_used_at = at
    return token


@validated
def revoke_token(*, actor: User, token_id: int) -> ApiToken:
    """Revoke a token: its owner or an admin may; another user's token is
    NotFound (it is not theirs to know about). Revoking twice is refused.
    Malformed arguments (an unknown keyword, a token id that is not a whole
    number, a user that is None or unsaved) are ValidationFailed."""
    with transaction.atomic():
        token = (
            selectors.tokens_for(actor).select_for_update(of=("self",)).filter(pk=token_id).first()
        )
        if token is None:
            raise NotFound("No such token.")
        if token.revoked_at is not None:
            raise NotPermitted(f"The token {token.name!r} is revoked already.")
        token.revoked_at = now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        return token
