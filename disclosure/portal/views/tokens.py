"""A contact's own API tokens: list, create (the secret shown once, on the
answer to the POST, never stored) and revoke, through the tokens services."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from disclosure.core.errors import DomainError, NotFound
from disclosure.core.timeutils import now
from disclosure.tokens import selectors, services
from disclosure.tokens.models import Scope

from ..decorators import contact_required


class TokenForm(forms.Form):
    name = forms.CharField(label="Name (what is it for?)", max_length=100)
    scope = forms.ChoiceField(label="Scope", choices=Scope.choices, initial=Scope.READ)
    days = forms.IntegerField(
        label="Valid for (days)", min_value=1, max_value=services.MAX_DAYS,
        initial=services.DEFAULT_DAYS,
    )  # fmt: skip


def _page(request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200):
    tokens = list(selectors.tokens_for(request.user).filter(user=request.user))
    return render(
        request,
        "portal/tokens.html",
        {"tokens": tokens, "form": form, "secret": secret, "at": now(), "nav": "tokens"},
        status=status,
    )


@contact_required
def token_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            issued = services.create_token(user=request.user, **form.cleaned_data)
        except DomainError as e:
            form.add_error(e.field if e.field in form.fields else None, e.message)
        else:
            messages.success(request, f"Token {issued.token.name!r} created.")
            return _page(request, TokenForm(), secret=issued.secret)
    return _page(request, form, status=400)


@contact_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    if not selectors.tokens_for(request.user).filter(user=request.user, pk=token_id).exists():
        raise Http404("No such token.")
    try:
        token = services.revoke_token(actor=request.user, token_id=token_id)
    except NotFound as e:
        raise Http404(e.message) from e
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"Token {token.name!r} revoked.")
    return redirect("portal:tokens")
