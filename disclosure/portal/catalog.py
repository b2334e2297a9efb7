"""The portal's vendor actions: which form and service each uses, and the
ones open to a contact on a case now (``access.available_actions``)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from disclosure.cases import access, services, transitions

from . import forms


@dataclass(frozen=True)
class PortalAction:
    form: type[forms.PortalCaseForm]
    service: Callable[..., Any]
    label: str
    done: str


ACTIONS: dict[str, PortalAction] = {
    "acknowledge": PortalAction(
        forms.AcknowledgeForm, services.acknowledge, "Acknowledge the notice",
        "Your acknowledgement is recorded.",
    ),
    "log_communication": PortalAction(
        forms.MessageForm, services.log_communication, "Send a message",
        "Your message is sent to the research firm.",
    ),
    "attach_evidence": PortalAction(
        forms.EvidenceForm, services.attach_evidence, "Upload evidence",
        "Your file is attached to the case.",
    ),
    "secure": PortalAction(
        forms.SecureForm, services.secure, "Confirm the asset is secured",
        "Your confirmation that the asset is secured is recorded.",
    ),
    "countersign_attestation": PortalAction(
        forms.CountersignForm, services.countersign_attestation,
        "Countersign the deletion attestation", "The deletion attestation is countersigned.",
    ),
    "file_dispute": PortalAction(
        forms.DisputeForm, services.file_dispute, "File a statement or dispute",
        "Your statement is filed beside the firm's position.",
    ),
}  # fmt: skip
assert set(ACTIONS) <= set(transitions.TRANSITIONS)


def portal_actions(user, case) -> list[tuple[str, str, str]]:
    """(action, label, url) of the portal actions ``user`` may take on ``case`` now."""
    return [
        (
            t.action,
            ACTIONS[t.action].label,
            reverse("portal:case_action", args=[case.reference, t.action]),
        )
        for t in access.available_actions(user, case)
        if t.action in ACTIONS
    ]
