"""Sign-in and sign-out for research staff."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from disclosure.cases import access


class StaffAuthenticationForm(AuthenticationForm):
    """Refuses anyone who is not research staff, before a session is made."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": (
            "This sign-in is for research staff. Vendor contacts sign in to the vendor portal."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not access.can_use_staff_ui(user):
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class StaffLoginView(auth_views.LoginView):
    template_name = "staff/login.html"
    authentication_form = StaffAuthenticationForm
    redirect_authenticated_user = True


class StaffLogoutView(auth_views.LogoutView):
    next_page = "staff:login"
