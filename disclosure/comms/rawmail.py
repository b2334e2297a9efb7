"""An outbox row as Django's mail backends take it (comms.outbox): the
stored bytes exactly, for backends other than SMTP (console, in-memory)."""

from __future__ import annotations

import email
import email.policy

from django.core.mail import EmailMessage

from .models import OutboxMessage


class RawEmailMessage(EmailMessage):
    """An outbox row as Django's mail backends take it: ``message()`` gives
    exactly the stored bytes; subject, sender, recipients and the plain-text
    body are read from them (for the console and in-memory backends)."""

    def __init__(self, row: OutboxMessage) -> None:
        parsed = email.message_from_bytes(bytes(row.raw), policy=email.policy.default)
        body = parsed.get_body(("plain",))
        super().__init__(
            subject=str(parsed.get("subject", "")),
            body=body.get_content() if body is not None else "",
            from_email=row.from_email,
            to=row.recipients,
            headers={"Message-ID": row.message_id},
        )
        self._raw = bytes(row.raw)

    def message(self):
        return _FixedBytes(self._raw)


class _FixedBytes:
    """The parts of ``email.message.Message`` the backends use."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n", policy=None) -> bytes:
        text = self._raw.replace(b"\r\n", b"\n")
        return text if linesep == "\n" else text.replace(b"\n", linesep.encode())

    def as_string(self, *args, **kwargs) -> str:
        return self.as_bytes().decode("utf-8", "replace")

    def get_charset(self):
        return None
