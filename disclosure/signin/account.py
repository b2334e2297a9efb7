"""A signed-in user's own account security page: second factor, recovery
codes, sessions (see and end any), password change (ends the others)."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from disclosure.accounts import mfa, passwords, selectors, sessions
from disclosure.core.errors import DomainError

from .forms import CodeForm
from .views import BASES, gate


def security(request: HttpRequest) -> HttpResponse:
    """The page: factor status, recovery codes left, live sessions."""
    if (refused := gate(request)) is not None:
        return refused
    ns = request.resolver_match.namespace
    user = request.user
    return render(request, "signin/security.html", {
        "base_template": BASES[ns], "ns": ns, "nav": "security",
        "has_factor": mfa.has_factor(user), "required": mfa.factor_required(user),
        "codes_left": mfa.recovery_codes_left(user),
        "sessions": sessions.sessions_of(user),
        "current_key": request.session.session_key,
        "remove_form": CodeForm(),
        "is_admin": ns == "staff" and selectors.can_administer(user),
    })  # fmt: skip


@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Replace the recovery codes and show the new ones once."""
    if (refused := gate(request)) is not None:
        return refused
    ns = request.resolver_match.namespace
    try:
        codes = mfa.replace_recovery_codes(user=request.user, interface=ns)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect(f"{ns}:security")
    return render(request, "signin/recovery_codes.html", {
        "codes": codes, "next": reverse(f"{ns}:security"), "base_template": BASES[ns],
    })  # fmt: skip


@require_POST
def remove_factor(request: HttpRequest) -> HttpResponse:
    """A vendor contact turns their second factor off with a current code."""
    if (refused := gate(request)) is not None:
        return refused
    ns = request.resolver_match.namespace
    form = CodeForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError("Give a current code to turn the second factor off.")
        mfa.remove_factor(user=request.user, code=form.cleaned_data["code"], interface=ns)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "Your second factor is off.")
    return redirect(f"{ns}:security")


@require_POST
def end_session(request: HttpRequest, session_id: int) -> HttpResponse:
    """End one of one's own sessions (this one too: then sign in again)."""
    if (refused := gate(request)) is not None:
        return refused
    ns = request.resolver_match.namespace
    try:
        sessions.end_session(user=request.user, session_id=session_id, interface=ns)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "That session has ended.")
    return redirect(f"{ns}:security")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Change one's password: this session stays, every other one ends."""

    template_name = "signin/password_change.html"

    def dispatch(self, request, *args, **kwargs):
        if (refused := gate(request)) is not None:
            return refused
        return super().dispatch(request, *args, **kwargs)

    def get_success_url(self) -> str:
        return reverse(f"{self.request.resolver_match.namespace}:security")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["base_template"] = BASES[self.request.resolver_match.namespace]
        return context

    def form_valid(self, form) -> HttpResponse:
        old_key = self.request.session.session_key
        response = super().form_valid(form)  # keeps this session under a new key
        sessions.rekey(old=old_key, new=self.request.session.session_key)
        ended = passwords.password_changed(
            user=form.user, keep_session=self.request.session.session_key,
            interface=self.request.resolver_match.namespace, by_reset=False,
        )  # fmt: skip
        messages.success(self.request, f"Your password is changed; {ended} other session(s) ended.")
        return response
