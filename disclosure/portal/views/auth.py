"""The portal's own sign-in and sign-out (separate from the staff sign-in),
and accepting an invitation."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from disclosure.accounts import invitations, mfa
from disclosure.cases import access
from disclosure.core.errors import DomainError
from disclosure.signin.views import SignInView, SignOutView, complete_sign_in

from ..forms import AcceptInvitationForm


class PortalLoginView(SignInView):
    """The portal's password step (disclosure.signin: lock-out, one answer
    for every refusal, the second factor of contacts who set one up)."""

    template_name = "portal/login.html"
    interface = "portal"
    default_next = "portal:case_list"

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if access.can_use_portal(request.user):
            return redirect(self.get_success_url())
        return super().get(request, *args, **kwargs)


class PortalLogoutView(SignOutView):
    interface = "portal"
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
                if mfa.has_factor(user):
                    # An existing account with a second factor signs in with it.
                    org = invitation.organization.name
                    messages.success(request, f"You are now a contact of {org}. Sign in.")
                    return redirect("portal:login")
                complete_sign_in(request, user, interface="portal", factor="invitation")
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
