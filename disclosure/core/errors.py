"""Domain errors. Each interface turns them into a form error, a 400/409
response or a task failure; their message is written for the user."""


class DomainError(Exception):
    """Base of every rule the services enforce. ``code`` is stable for APIs."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationFailed(DomainError):
    """A value is malformed or out of range."""

    code = "validation_failed"


class TransitionNotAllowed(DomainError):
    """The case's current stage does not allow this change."""

    code = "transition_not_allowed"
    http_status = 409


class EvidenceRequired(DomainError):
    """The change needs evidence that was not supplied."""

    code = "evidence_required"


class InvalidTimestamp(DomainError):
    """A time is in the future, or before the stage it must follow."""

    code = "invalid_timestamp"


class NotPermitted(DomainError):
    """The actor's role does not allow this action on this case."""

    code = "not_permitted"
    http_status = 403


class LegalHoldActive(DomainError):
    """A legal hold blocks the change (closing, purging)."""

    code = "legal_hold"
    http_status = 409


class DuplicateEvidence(DomainError):
    """The same file (by SHA-256) is already attached to this case."""

    code = "duplicate_evidence"
    http_status = 409


class NotFound(DomainError):
    """The case (or record) does not exist for this user: either it does not
    exist or the user may not see it. Interfaces answer 404 and never say which."""

    code = "not_found"
    http_status = 404


class LedgerMismatch(DomainError):
    """The case row no longer matches its ledger (changed behind the services'
    back); nothing is written on top of it until verify_ledger is run and the
    row is repaired."""

    code = "ledger_mismatch"
    http_status = 409


class DuplicateMessage(DomainError):
    """An e-mail with this Message-ID is logged already: a message is never
    logged (or sent) twice."""

    code = "duplicate_message"
    http_status = 409
