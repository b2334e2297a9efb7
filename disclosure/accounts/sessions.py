"""The signed-in sessions a user can see and end (issue 20).

A sign-in page registers the session it makes (``register``); the list
leaves out sessions that have ended or expired in the session store. Ending
one deletes it from the store, so its cookie no longer signs anyone in.
"""

from importlib import import_module

from django.conf import settings
from django.db import transaction

from disclosure.core.errors import NotFound
from disclosure.core.timeutils import now
from disclosure.core.validation import validated

from . import audit
from .models import AccessEvent, User, UserSession


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def register(
    *, user: User, session_key: str, address: str | None, user_agent: str, interface: str
) -> UserSession:
    """Remember that ``session_key`` belongs to ``user`` (signed in now)."""
    row, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "created_at": now(), "address": address,
                  "user_agent": (user_agent or "")[:300], "interface": interface},
    )  # fmt: skip
    return row


def rekey(*, old: str | None, new: str | None) -> None:
    """The session ``old`` goes on under the key ``new`` (Django cycles the
    key of a session whose password changed)."""
    if old and new and old != new:
        UserSession.objects.filter(session_key=old).update(session_key=new)


def forget(*, session_key: str | None) -> None:
    """The session ``session_key`` ends (sign-out): its row goes."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def sessions_of(user: User) -> list[UserSession]:
    """The live sessions of ``user``, newest first (rows of ended or expired
    sessions are dropped on the way)."""
    store = _store()
    rows = list(UserSession.objects.filter(user=user))
    alive = [row for row in rows if store().exists(row.session_key)]
    gone = [row.pk for row in rows if row not in alive]
    if gone:
        UserSession.objects.filter(pk__in=gone).delete()
    return alive


def _end(row: UserSession) -> None:
    _store()(session_key=row.session_key).delete()
    row.delete()


@transaction.atomic
@validated
def end_session(*, user: User, session_id: int, interface: str = "") -> None:
    """End one of ``user``'s own sessions (NotFound for anyone else's).
    Audited as ``session_ended``."""
    row = UserSession.objects.filter(user=user, pk=session_id).first()
    if row is None:
        raise NotFound("No such session.")
    _end(row)
    audit.record(AccessEvent.Kind.SESSION_ENDED, user=user, interface=interface, scope="one")


def end_all(*, user: User, keep: str | None = None) -> int:
    """End every registered session of ``user`` but ``keep`` (a session
    key); returns how many ended."""
    rows = UserSession.objects.filter(user=user)
    if keep:
        rows = rows.exclude(session_key=keep)
    ended = 0
    for row in rows:
        _end(row)
        ended += 1
    return ended
