"""URLs of the vendor portal (mounted at /portal/)."""

from django.urls import path

from disclosure.signin import urls as signin_urls

from . import lookup_urls
from .views import actions, affected, auth, cases, preferences, tokens

app_name = "portal"

urlpatterns = [
    path("", cases.case_list, name="case_list"),
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    *signin_urls.urlpatterns,  # second factor, password reset, account security
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
    *lookup_urls.urlpatterns,  # the verified lookup (lookups)
]
