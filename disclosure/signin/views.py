"""Sign-in in two steps (password, then the second factor), setting up an
authenticator app, and password reset, for the staff UI, the portal and the
admin.

The password step never signs anyone in who must show a second factor: it
keeps only a pending sign-in (user, where to go, when) in the anonymous
session for ``PENDING_SECONDS``; the factor step (or, for staff without an
app, setting one up) completes it. ``client.force_login`` in tests and
sessions made by other means are therefore untouched by this flow.
"""

import base64
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from disclosure.accounts import audit, lockout, mfa, passwords, sessions
from disclosure.accounts.models import AccessEvent, User
from disclosure.accounts.selectors import can_administer
from disclosure.cases import access
from disclosure.core.errors import DomainError
from disclosure.core.timeutils import now

from .forms import CodeForm, EnrolForm, ResetRequestForm, SignInForm

Kind = AccessEvent.Kind
PENDING_KEY = "signin_pending"
PENDING_SECONDS = 600
ALLOWED = {
    "staff": access.can_use_staff_ui,
    "portal": access.can_use_portal,
    # The admin's own page says "not authorized" to signed-in staff without
    # the admin role, as before.
    "admin": lambda user: access.can_use_staff_ui(user) or can_administer(user),
}
BASES = {"staff": "staff/base.html", "portal": "portal/base.html", "admin": "staff/base.html"}


def namespace(interface: str) -> str:
    """The URL namespace of the pages that serve ``interface``."""
    return "portal" if interface == "portal" else "staff"


def complete_sign_in(request: HttpRequest, user: User, *, interface: str, factor: str) -> None:
    """Sign ``user`` in: a new session key, registered so that the user can
    see and end it, and a ``sign_in`` audit row (which also ends the
    account's count of failures)."""
    request.session.pop(PENDING_KEY, None)
    login(request, user, backend=getattr(user, "backend", None) or _backend())
    request.session.save()
    sessions.register(
        user=user,
        session_key=request.session.session_key,
        address=audit.current_address(),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        interface=interface,
    )
    audit.record(Kind.SIGN_IN, user=user, interface=interface, factor=factor)


def _backend() -> str:
    return "django.contrib.auth.backends.ModelBackend"


def _pending(request: HttpRequest) -> tuple[User, dict] | None:
    """The pending sign-in of this session, or None (none, expired, or its
    user gone or deactivated)."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    started = parse_datetime(data.get("at", ""))
    if started is None or now() - started > timedelta(seconds=PENDING_SECONDS):
        request.session.pop(PENDING_KEY, None)
        return None
    user = User.objects.filter(pk=data.get("user"), is_active=True).first()
    if user is None:
        return None
    user.backend = data.get("backend") or _backend()
    return user, data


class SignInView(auth_views.LoginView):
    """The password step of ``interface``'s sign-in page."""

    interface = "staff"
    default_next = "staff:dashboard"

    def get_form_class(self):
        return SignInForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.update(interface=self.interface, allowed=ALLOWED[self.interface])
        return kwargs

    def get_default_redirect_url(self) -> str:
        return reverse(self.default_next)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["reset_url"] = reverse(f"{namespace(self.interface)}:password_reset")
        return context

    def form_valid(self, form) -> HttpResponse:
        user = form.get_user()
        target = self.get_success_url()
        if mfa.has_factor(user) or mfa.factor_required(user):
            self.request.session.cycle_key()
            self.request.session[PENDING_KEY] = {
                "user": user.pk, "backend": user.backend, "next": target,
                "interface": self.interface, "at": now().isoformat(),
            }  # fmt: skip
            step = "login_verify" if mfa.has_factor(user) else "login_enrol"
            return redirect(f"{namespace(self.interface)}:{step}")
        complete_sign_in(self.request, user, interface=self.interface, factor="")
        if self.interface == "portal":
            messages.info(self.request, "Protect your account with an authenticator app: "
                          "see Account security (link on your Mail settings page).")  # fmt: skip
        return redirect(target)


def _locked_out(request: HttpRequest, interface: str) -> HttpResponse:
    request.session.pop(PENDING_KEY, None)
    messages.error(request, lockout.locked_message())
    return redirect(f"{namespace(interface)}:login")


def verify(request: HttpRequest) -> HttpResponse:
    """The second step: a code of the authenticator app or a recovery code."""
    ns = request.resolver_match.namespace
    pending = _pending(request)
    if pending is None:
        return redirect(f"{ns}:login")
    user, data = pending
    interface = data.get("interface", ns)
    if lockout.is_locked(username=user.get_username(), address=audit.current_address()):
        audit.record(Kind.SIGN_IN_LOCKED, user=user, interface=interface)
        return _locked_out(request, ns)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        factor = mfa.verify(user=user, code=form.cleaned_data["code"], interface=interface)
        if factor is not None:
            complete_sign_in(request, user, interface=interface, factor=factor)
            if factor == "recovery":
                left = mfa.recovery_codes_left(user)
                messages.warning(request, f"You signed in with a recovery code; {left} left. "
                                 "Make new ones on your Account security page.")  # fmt: skip
            return redirect(data.get("next") or reverse(f"{ns}:login"))
        if lockout.is_locked(username=user.get_username(), address=audit.current_address()):
            return _locked_out(request, ns)
        form.add_error("code", "That code is not right. Try the app's current code again.")
        status = 400
    return render(request, "signin/verify.html",
                  {"form": form, "base_template": BASES[ns], "login_url": reverse(f"{ns}:login")},
                  status=status)  # fmt: skip


def _secret(device) -> str:
    key = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: at the first sign-in of staff (pending
    sign-in), or from the account security page (signed in)."""
    ns = request.resolver_match.namespace
    pending = _pending(request)
    if pending is not None:
        user, data = pending
    elif request.user.is_authenticated and ALLOWED[ns](request.user):
        user, data = request.user, None
    else:
        return redirect(f"{ns}:login")
    interface = data.get("interface", ns) if data else ns
    device = mfa.pending_device(user)
    form = EnrolForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa.confirm_enrolment(user=user, code=form.cleaned_data["code"],
                                          interface=interface)  # fmt: skip
        except DomainError as e:
            form.add_error("code", e.message)
            status = 400
        else:
            if data is not None:
                complete_sign_in(request, user, interface=interface, factor="totp")
            target = (data or {}).get("next") or reverse(f"{ns}:security")
            return render(request, "signin/recovery_codes.html",
                          {"codes": codes, "next": target, "base_template": BASES[ns]})  # fmt: skip
    return render(request, "signin/enrol.html", {
        "form": form, "secret": _secret(device), "uri": device.config_url,
        "first": data is not None, "base_template": BASES[ns],
    }, status=status)  # fmt: skip


def password_reset(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link by e-mail address: the same answer whether or
    not an account has it."""
    ns = request.resolver_match.namespace
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        link = request.build_absolute_uri(
            reverse(f"{ns}:password_reset_confirm", args=["--uid--", "--token--"])
        )
        link = link.replace("--uid--", "{uid}").replace("--token--", "{token}")
        try:
            passwords.request_reset(email=form.cleaned_data["email"], link_template=link,
                                    interface=ns)  # fmt: skip
        except DomainError as e:
            form.add_error("email", e.message)
        else:
            return render(request, "signin/reset_sent.html", {"base_template": BASES[ns]})
    return render(request, "signin/reset_request.html",
                  {"form": form, "base_template": BASES[ns]},
                  status=400 if form.errors else 200)  # fmt: skip


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choose a new password from a mailed link (Django's token check); the
    user's other sessions end, and they sign in again (with their factor)."""

    template_name = "signin/reset_confirm.html"
    post_reset_login = False

    def get_success_url(self) -> str:
        return reverse(f"{self.request.resolver_match.namespace}:login")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["base_template"] = BASES[self.request.resolver_match.namespace]
        return context

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        ns = self.request.resolver_match.namespace
        passwords.password_changed(user=form.user, keep_session=None, interface=ns, by_reset=True)
        messages.success(self.request, "Your password is changed. Sign in with it.")
        return response


class SignOutView(auth_views.LogoutView):
    """Sign out (a POST): the session's row goes and a ``sign_out`` audit row
    is written."""

    interface = "staff"

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            audit.record(Kind.SIGN_OUT, user=request.user, interface=self.interface)
            sessions.forget(session_key=request.session.session_key)
        return super().post(request, *args, **kwargs)


def gate(request: HttpRequest) -> HttpResponse | None:
    """None when the signed-in user may use this interface's account pages;
    else where to send them (anonymous: sign-in) or a 404."""
    ns = request.resolver_match.namespace
    if not request.user.is_authenticated:
        return redirect(f"{reverse(f'{ns}:login')}?next={request.path}")
    if not ALLOWED[ns](request.user):
        raise Http404("No such page.")
    return None
