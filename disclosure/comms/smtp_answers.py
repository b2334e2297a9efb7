"""What the outbox makes of the SMTP server's answers: whether a refusal is
final, and the words an outbox row keeps of an error."""

import smtplib


def permanent(exc: BaseException) -> bool:
    """A refusal the server says is final (5xx to MAIL, to every RCPT, or to
    DATA): retrying cannot help. A refused login (535) or a missing STARTTLS
    is our configuration, not the message: retried, so that mail queued
    while it is wrong goes once it is put right."""
    if isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPNotSupportedError):
        return False
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def reply_str(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def describe(exc: BaseException) -> str:
    """The error as the row keeps it: the server's code and words."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(
            f"{address}: {code} {reply_str(reply)}"
            for address, (code, reply) in exc.recipients.items()
        )
        return f"SMTPRecipientsRefused: {detail}"[:2000]
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__}: {exc.smtp_code} {reply_str(exc.smtp_error)}"[:2000]
    return f"{type(exc).__name__}: {exc}"[:2000]
