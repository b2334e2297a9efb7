"""Forms of the webhook pages (webhooks.services): a subscription and the
delivery log's filters."""

from django import forms

from disclosure.accounts.models import Organization
from disclosure.cases.models import Case
from disclosure.core.forms import DomainErrorForm
from disclosure.ledger.models import EventKind
from disclosure.webhooks.models import DeliveryStatus, WebhookSubscription

from .base import lines


class SubscriptionForm(DomainErrorForm):
    """A subscription; the service checks the URL against the guarded
    client's address rules and the secret's length."""

    name = forms.CharField(max_length=200)
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="http:// or https://. Private, loopback and link-local addresses are "
        "refused (the re-probes' rules).",
    )
    secret = forms.CharField(
        max_length=200,
        required=False,
        help_text="At least 16 characters; the receiver checks each request's "
        "HMAC-SHA256 signature with it. Empty: a new one is made (on a new "
        "subscription) or the current one kept.",
    )
    event_kinds = forms.MultipleChoiceField(
        label="Event kinds",
        choices=EventKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    vendors = forms.ModelMultipleChoiceField(
        queryset=Organization.objects.filter(kind=Organization.Kind.VENDOR).order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Only these vendors' cases; none chosen: every vendor.",
    )
    cases = forms.CharField(
        label="Cases",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Case references, one per line; empty: every case.",
    )
    internal = forms.BooleanField(
        label="Internal: receives internal events and full payloads",
        required=False,
        help_text="Leave it off for a receiver that may only see what the vendor sees.",
    )
    active = forms.BooleanField(label="Active", required=False, initial=True)

    def clean_cases(self) -> list[Case]:
        references = [r.strip().upper() for r in lines(self.cleaned_data.get("cases") or "")]
        found = {c.reference: c for c in Case.objects.filter(reference__in=references)}
        missing = [r for r in references if r not in found]
        if missing:
            raise forms.ValidationError(f"No such case: {', '.join(missing)}.")
        return [found[r] for r in dict.fromkeys(references)]

    @classmethod
    def initial_for(cls, sub: WebhookSubscription) -> dict:
        return {
            "name": sub.name,
            "url": sub.url,
            "event_kinds": sub.event_kinds,
            "vendors": list(sub.vendors.all()),
            "cases": "\n".join(c.reference for c in sub.cases.all()),
            "internal": sub.internal,
            "active": sub.active,
        }


class DeliveryFilterForm(forms.Form):
    """The delivery log's filters (all optional; bad values are ignored)."""

    subscription = forms.ModelChoiceField(
        queryset=WebhookSubscription.objects.order_by("name", "id"), required=False
    )
    status = forms.ChoiceField(choices=[("", "Any"), *DeliveryStatus.choices], required=False)
    case = forms.CharField(label="Case reference", max_length=40, required=False)
    kind = forms.ChoiceField(
        label="Event kind", choices=[("", "Any"), *EventKind.choices], required=False
    )
