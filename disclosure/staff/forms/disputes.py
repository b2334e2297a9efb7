"""Answering and settling a case's disputes (the transitions table's
answer_dispute and settle_dispute): the open dispute is chosen among the
case's own."""

from typing import Any

from django import forms

from disclosure.affected.models import OUTCOMES, Dispute
from disclosure.cases import selectors

from .base import CaseForm, LocalDateTimeField


class _DisputeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Dispute) -> str:
        return f"{obj.subject} (filed {obj.filed_at:%Y-%m-%d})"


class _OnOpenDispute(CaseForm):
    """A form on one of the case's open disputes (preselected when there is one)."""

    dispute = _DisputeChoice(queryset=Dispute.objects.none(), label="Dispute", empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        open_ones = selectors.disputes_for(self.user, self.case).filter(status=Dispute.Status.OPEN)
        self.fields["dispute"].queryset = open_ones


class AnswerDisputeForm(_OnOpenDispute):
    field_aliases = {"occurred_at": "answered_at"}

    answer = forms.CharField(
        label="Our answer", widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The firm's position on what the vendor disputes; the vendor sees it.",
    )  # fmt: skip
    answered_at = LocalDateTimeField(label="Answered at", required=False,
                                     help_text="Leave blank for now.")  # fmt: skip

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class SettleDisputeForm(_OnOpenDispute):
    field_aliases = {"occurred_at": "settled_at", "settlement_reason": "reason"}

    outcome = forms.ChoiceField(
        label="Outcome", choices=[(o.value, o.label) for o in OUTCOMES],
        widget=forms.RadioSelect,
    )  # fmt: skip
    reason = forms.CharField(
        label="Reason", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why it is settled so; the vendor sees it.",
    )  # fmt: skip
    settled_at = LocalDateTimeField(label="Settled at", required=False,
                                    help_text="Leave blank for now.")  # fmt: skip

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
