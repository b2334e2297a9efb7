"""The sign-in routes the staff UI and the portal share (each includes them
in its own namespace: ``staff:login_verify``, ``portal:login_verify``, ...):
the second step of signing in, password reset and the account security
page. The views read the namespace to know which side they serve."""

from django.urls import path

from . import account as signin_account
from . import views as signin

urlpatterns = [
    path("login/verify/", signin.verify, name="login_verify"),
    path("login/enrol/", signin.enrol, name="login_enrol"),
    path("password-reset/", signin.password_reset, name="password_reset"),
    path(
        "password-reset/<uidb64>/<token>/",
        signin.ResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("settings/security/", signin_account.security, name="security"),
    path("settings/security/enrol/", signin.enrol, name="security_enrol"),
    path(
        "settings/security/recovery-codes/",
        signin_account.recovery_codes,
        name="security_recovery_codes",
    ),
    path("settings/security/remove/", signin_account.remove_factor, name="security_remove"),
    path(
        "settings/security/sessions/<int:session_id>/end/",
        signin_account.end_session,
        name="security_end_session",
    ),
    path(
        "settings/security/password/",
        signin_account.PasswordChangeView.as_view(),
        name="password_change",
    ),
]
