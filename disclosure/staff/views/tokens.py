"""API tokens in the staff UI: staff create and revoke their own tokens; an
admin sees and revokes everyone's. A new token's secret is shown once, on
the page that answers its creation, and never again."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from disclosure.core.errors import DomainError, NotFound
from disclosure.core.timeutils import now
from disclosure.tokens import selectors, services
from disclosure.tokens.models import Scope

from ..decorators import staff_required


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="What the token is for, e.g. 'bucket scanner'."
    )
    scope = forms.ChoiceField(label="Scope", choices=Scope.choices, initial=Scope.READ)
    days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=services.MAX_DAYS,
        initial=services.DEFAULT_DAYS,
    )

    def add_domain_error(self, error: DomainError) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)


def _page(request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200):
    return render(
        request,
        "staff/tokens/list.html",
        {
            "form": form,
            "tokens": selectors.tokens_for(request.user),
            "all_users": selectors.may_manage_all(request.user),
            "secret": secret,
            "now": now(),
            "nav": "tokens",
        },
        status=status,
    )


@never_cache
@staff_required
def token_list(request: HttpRequest) -> HttpResponse:
    """GET: the tokens and the form; POST: create one and show its secret."""
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            issued = services.create_token(user=request.user, **form.cleaned_data)
        except DomainError as e:
            form.add_domain_error(e)
        else:
            return _page(request, TokenForm(), secret=issued.secret)
    return _page(request, form, status=400)


@staff_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.revoke_token(actor=request.user, token_id=token_id)
    except NotFound as e:
        raise Http404(e.message) from e
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"Token {token.name!r} revoked.")
    return redirect("staff:token_list")
