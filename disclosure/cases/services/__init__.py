"""Every write to a case. Staff UI, portal, API, Celery and management
commands call these functions and nothing else to change a case."""

from disclosure.affected.services import answer_dispute, file_dispute, settle_dispute
from disclosure.comms.services import log_communication
from disclosure.evidence.services import IncomingFile, attach_evidence, countersign_attestation

from .amendments import (
    correct_event,
    escalate,
    open_follow_up,
    set_legal_hold,
    update_details,
)
from .lifecycle import acknowledge, close_case, notify_vendor, publish, record_deletion, secure
from .opening import open_case
from .policy_terms import edit_policy
from .secured import confirm_secured

__all__ = [
    "IncomingFile",
    "acknowledge",
    "answer_dispute",
    "attach_evidence",
    "close_case",
    "confirm_secured",
    "correct_event",
    "countersign_attestation",
    "edit_policy",
    "escalate",
    "file_dispute",
    "log_communication",
    "notify_vendor",
    "open_case",
    "open_follow_up",
    "publish",
    "record_deletion",
    "secure",
    "set_legal_hold",
    "settle_dispute",
    "update_details",
]
