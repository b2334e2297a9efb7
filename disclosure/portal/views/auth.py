"""The portal's own sign-in and sign-out (separate from the staff sign-in),
and accepting an invitation."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from disclosure.accounts import invitations
from disclosure.cases import access
from disclosure.core.errors import DomainError

from ..forms import AcceptInvitationForm


class PortalAuthenticationForm(AuthenticationForm):
    """Refuses anyone who is not a vendor contact (staff included) before a
    session is made."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_contact": (
            "This sign-in is for vendor contacts. Research staff sign in to the staff "
            "site, and can preview a case as its vendor sees it from there."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not access.can_use_portal(user):
            raise forms.ValidationError(self.error_messages["not_contact"], code="not_contact")


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    authentication_form = PortalAuthenticationForm
    next_page = reverse_lazy("portal:case_list")

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if access.can_use_portal(request.user):
            return redirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return str(self.next_page)


class PortalLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the invitation and the password form, or a clear page saying
    why the link does not work. POST: use it, sign in, land in the portal."""
    try:
        invitation = invitations.check_invitation(token)
    except invitations.InvitationInvalid as e:
        return render(request, "portal/invitation_invalid.html", {"reason": e.message}, status=400)
    existing = invitations.existing_account(invitation) is not None
    if request.method == "POST":
        form = AcceptInvitationForm(request.POST, existing=existing)
        if form.is_valid():
            try:
                user = invitations.accept_invitation(
                    token=token,
                    password=form.cleaned_data["password"],
                    first_name=form.cleaned_data.get("first_name", ""),
                    last_name=form.cleaned_data.get("last_name", ""),
                )
            except invitations.InvitationInvalid as e:
                return render(
                    request, "portal/invitation_invalid.html", {"reason": e.message}, status=400
                )
            except DomainError as e:
                form.add_domain_error(e)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(
                    request,
                    f"Welcome. You are a contact of {invitation.organization.name}; "
                    f"your username is {user.get_username()}.",
                )
                return redirect("portal:case_list")
        status = 400
    else:
        form = AcceptInvitationForm(existing=existing)
        status = 200
    return render(
        request,
        "portal/invitation_accept.html",
        {"invitation": invitation, "form": form, "existing": existing},
        status=status,
    )
