"""The sign-in form: lock-out first, one answer for every refusal."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from disclosure.accounts import audit, lockout
from disclosure.accounts.models import AccessEvent

Kind = AccessEvent.Kind

GENERIC_ERROR = (
    "Please enter a correct username and password. Note that both fields may be "
    "case-sensitive. Research staff sign in to the staff site, vendor contacts to "
    "the vendor portal."
)


class SignInForm(AuthenticationForm):
    """Username and password for one interface.

    Guarantees: a locked account or address is refused before the password
    is checked (the lock-out message, the same whether the password is
    right); a wrong password, an unknown or inactive account and a right
    password on the wrong sign-in page all get the one ``invalid_login``
    message and each counts as a failed sign-in; the failure that locks
    gets the lock-out message."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": GENERIC_ERROR,
        "inactive": GENERIC_ERROR,
    }

    def __init__(self, request=None, *args, interface: str, allowed, **kwargs) -> None:
        super().__init__(request, *args, **kwargs)
        self.interface = interface
        self.allowed = allowed

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        if username and lockout.is_locked(username=username, address=audit.current_address()):
            audit.record(Kind.SIGN_IN_LOCKED, username=username, interface=self.interface)
            raise forms.ValidationError(lockout.locked_message(), code="locked")
        try:
            return super().clean()
        except forms.ValidationError as error:
            if username and any(e.code in ("invalid_login", "inactive") for e in error.error_list):
                user = self.user_cache
                self.user_cache = None
                self._failed(username, reason="password" if user is None else "wrong_page",
                             user=user)  # fmt: skip
            raise

    def confirm_login_allowed(self, user) -> None:
        if not user.is_active or not self.allowed(user):
            raise self.get_invalid_login_error()

    def _failed(self, username: str, *, reason: str, user=None) -> None:
        if lockout.record_failure(Kind.SIGN_IN_FAILED, username=username, user=user,
                                  interface=self.interface, reason=reason):  # fmt: skip
            raise forms.ValidationError(lockout.locked_message(), code="locked")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label="E-mail address", max_length=254)
