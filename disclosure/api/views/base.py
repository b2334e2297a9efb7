"""What the API's views share: the case addressed by reference (404 when the
caller may not see it), whether the caller reads internal fields, and
running one action of the transitions table."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from disclosure.cases import access, selectors, services
from disclosure.cases.models import Case
from disclosure.comms.outbound import send_case_mail
from disclosure.core.errors import DomainError, NotFound

from ..serializers.cases import case_data
from ..serializers.common import STAFF_VIEW, People, origin
from ..serializers.records import event_data, evidence_data

SERVICES = {
    "notify_vendor": services.notify_vendor,
    "secure": services.secure,
    "record_deletion": services.record_deletion,
    "publish": services.publish,
    "close": services.close_case,
    "acknowledge": services.acknowledge,
    "log_communication": services.log_communication,
    "send_mail": send_case_mail,
    "attach_evidence": services.attach_evidence,
    "file_dispute": services.file_dispute,
    "answer_dispute": services.answer_dispute,
    "settle_dispute": services.settle_dispute,
    "countersign_attestation": services.countersign_attestation,
    "correct_event": services.correct_event,
    "set_legal_hold": services.set_legal_hold,
    "escalate": services.escalate,
    "update_details": services.update_details,
    "open_follow_up": services.open_follow_up,
}


# What the access checks read of a case whose records are listed.
ACCESS_FIELDS = ("id", "reference", "vendor_id", "vendor_notified_at", "stage", "ledger_seq")


def case_for(user, reference: str, *, joined: bool = True, light: bool = False) -> Case | None:
    """The case ``reference`` if ``user`` may see it: with what the API shows
    of it (``joined``), or the row alone; ``light``: only what the access
    checks read (to list its records). Unordered: one row by its unique index."""
    if joined:
        rows = selectors.case_list(user).select_related("follows_up")
    else:
        rows = access.visible_cases(user)
        if light:
            rows = rows.only(*ACCESS_FIELDS)
    return next(iter(rows.filter(reference=reference).order_by()[:1]), None)


# A service names the inputs it refuses by its own arguments (every time is
# ``occurred_at``, every file ``file``): the names of the API's bodies.
FIELD_ALIASES: dict[str, dict[str, str]] = {
    "open_case": {"occurred_at": "found_at", "file": "exposure_evidence",
                  "kind": "exposure_evidence"},
    "intake": {"occurred_at": "found_at", "file": "evidence", "kind": "evidence",
               "exposure_evidence": "evidence"},
    "notify_vendor": {"file": "attachments", "kind": "attachments"},
    "log_communication": {"file": "attachments", "kind": "attachments"},
    "send_mail": {"file": "attachments", "kind": "attachments", "description": "attachments"},
    "secure": {"file": "evidence"},
    "record_deletion": {"occurred_at": "performed_at", "file": "evidence"},
    "attach_evidence": {"occurred_at": "captured_at"},
    "file_dispute": {"occurred_at": "filed_at"},
    "answer_dispute": {"occurred_at": "answered_at"},
    "settle_dispute": {"occurred_at": "settled_at", "settlement_reason": "reason"},
    "escalate": {"occurred_at": "escalated_at"},
    "open_follow_up": {"occurred_at": "found_at", "file": "exposure_evidence",
                       "kind": "exposure_evidence"},
}  # fmt: skip


@contextmanager
def api_field_names(name: str) -> Iterator[None]:
    """Rename the field of a DomainError raised inside to the API's name."""
    try:
        yield
    except DomainError as e:
        e.field = FIELD_ALIASES.get(name, {}).get(e.field or "", e.field)
        raise


def reads_internal(request) -> bool:
    """Whether the caller reads the firm's internal fields and records (staff)."""
    return access.can_use_staff_ui(request.user)


class CaseScoped(GenericAPIView):
    """A view under /cases/{reference}/: the case as the caller may see it."""

    lookup_url_kwarg = "reference"
    # Whether the view shows the case itself (else only its records).
    shows_case = True

    def get_case(self) -> Case:
        if not hasattr(self, "_case"):
            case = case_for(
                self.request.user,
                self.kwargs["reference"],
                joined=self.shows_case,
                light=not self.shows_case and self.request.method == "GET",
            )
            if case is None:
                raise NotFound("No such case.")
            self._case = case
        return self._case

    def get_serializer_context(self) -> dict[str, Any]:
        internal = reads_internal(self.request)
        people = (
            STAFF_VIEW if internal else People(internal=False, vendor_id=self.get_case().vendor_id)
        )
        return {**super().get_serializer_context(), "internal": internal, "people": people}


def _created(action: str, result: Any, people: People, base: str) -> dict[str, Any] | None:
    """What the action created, for the response (None when it only changed
    the case); its URLs start with ``base``, the request's ``origin``."""
    if action in ("log_communication", "send_mail"):
        return {"kind": "communication", "id": result.pk}
    if action == "attach_evidence":
        return {"kind": "evidence", **evidence_data(result, people, base=base)}
    if action == "file_dispute":
        return {"kind": "dispute", "id": result.pk}
    if action == "escalate":
        return {"kind": "escalation", "id": result.pk}
    if action == "correct_event":
        return {"kind": "correction", "seq": result.seq}
    if action == "open_follow_up":
        return {"kind": "case", "reference": result.reference,
                "url": f"{base}/api/v1/cases/{result.reference}/"}  # fmt: skip
    if action == "record_deletion":
        url = f"{base}/api/v1/cases/{result.reference}/attestation/"
        return {"kind": "deletion_attestation", "url": url}
    return None


def run_action(
    view: CaseScoped, action: str, serializer_class, *, status_code: int = status.HTTP_201_CREATED
) -> Response:
    """Run ``action`` on the view's case with the request's body: 404 when
    the case is not visible, 403 when the caller's role may not take the
    action, 400 for a malformed body, then the service (409 when the table
    or a guard refuses). 201 with the case after it, the ledger events it
    appended (as the caller may read them) and what it created."""
    request = view.request
    case = view.get_case()
    access.require(request.user, action, case)
    serializer = serializer_class(data=request.data, context=view.get_serializer_context())
    serializer.is_valid(raise_exception=True)
    with api_field_names(action):
        kwargs = serializer.service_kwargs(case=case, user=request.user)
    before = case.ledger_seq
    with api_field_names(action):
        result = SERVICES[action](actor=request.user, case=case, **kwargs)
    after = case_for(request.user, case.reference)
    internal = reads_internal(request)
    # The events appended since the case was read, by this caller: another
    # request's events appended meanwhile are not this action's.
    events = selectors.events_for(request.user, after).filter(seq__gt=before, actor=request.user)
    return Response(
        {
            "case": case_data(after, internal=internal, base=origin(request)),
            "events": [event_data(e, internal=internal) for e in events],
            "created": _created(
                action, result, view.get_serializer_context()["people"], origin(request)
            ),
        },
        status=status_code,
    )
