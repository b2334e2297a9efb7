"""URLs of the vendor portal (mounted at /portal/)."""

from django.urls import path

from disclosure.signin import account as signin_account
from disclosure.signin import views as signin

from .views import actions, affected, auth, cases, preferences, tokens

app_name = "portal"

urlpatterns = [
    path("", cases.case_list, name="case_list"),
    path("login/", auth.PortalLoginView.as_view(), name="login"),
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
    path("logout/", auth.PortalLogoutView.as_view(), name="logout"),
    path("invitation/<str:token>/", auth.accept_invitation, name="accept_invitation"),
    path("cases/<str:reference>/", cases.case_detail, name="case_detail"),
    path("cases/<str:reference>/affected/", affected.affected_page, name="case_affected"),
    path("cases/<str:reference>/actions/<slug:action>/", actions.case_action, name="case_action"),
    path(
        "cases/<str:reference>/evidence/<int:evidence_id>/",
        cases.evidence_download,
        name="evidence_download",
    ),
    path("preview/<str:reference>/", cases.preview, name="preview"),
    path("tokens/", tokens.token_list, name="tokens"),
    path("settings/mail/", preferences.mail_settings, name="mail_settings"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
]
