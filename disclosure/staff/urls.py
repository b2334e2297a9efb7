"""URLs of the staff UI (mounted at the site root)."""

from django.urls import path

from disclosure.signin import urls as signin_urls

from . import converters  # noqa: F401 - registers caseref and casetab
from .views import (
    access_audit,
    actions,
    auth,
    case_page,
    dashboard,
    exports,
    new_case,
    organizations,
    preferences,
    secured,
    tokens,
    triage,
    vendors,
)
from .views import mail as mail_views
from .views import webhooks as webhook_views
from .views.case_list import case_list

app_name = "staff"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.StaffLoginView.as_view(), name="login"),
    *signin_urls.urlpatterns,  # second factor, password reset, account security
    path("settings/access/", access_audit.audit_list, name="access_audit"),
    path("settings/access.csv", access_audit.audit_csv, name="access_audit_csv"),
    path("settings/access/unlock/", access_audit.unlock, name="access_unlock"),
    path("settings/access/reset-factor/", access_audit.reset_factors, name="access_reset_factor"),
    path("logout/", auth.StaffLogoutView.as_view(), name="logout"),
    path("cases/", case_list, name="case_list"),
    path("cases/new/", new_case.case_new, name="case_new"),
    path("cases/<caseref:reference>/", case_page.case_detail, name="case_detail"),
    path("cases/<caseref:reference>/<casetab:tab>/", case_page.case_detail, name="case_tab"),
    # The table's send_mail action has its own page (before the generic one).
    path("cases/<caseref:reference>/actions/send_mail/", mail_views.compose, name="case_mail"),
    path(
        "cases/<caseref:reference>/actions/send_mail/template/",
        mail_views.compose_template,
        name="case_mail_template",
    ),
    path(
        "cases/<caseref:reference>/actions/<slug:action>/",
        actions.case_action,
        name="case_action",
    ),
    path(
        "cases/<caseref:reference>/evidence/<int:evidence_id>/",
        case_page.evidence_download,
        name="evidence_download",
    ),
    path("cases/<caseref:reference>/exports/", exports.case_exports, name="case_exports"),
    path("cases/<caseref:reference>/watch/", preferences.case_watch, name="case_watch"),
    path(
        "cases/<caseref:reference>/confirm-secured/",
        secured.confirm_secured,
        name="confirm_secured",
    ),
    path(
        "cases/<caseref:reference>/exports/<int:export_id>/download/",
        exports.export_download,
        name="export_download",
    ),
    path("mail/", triage.triage_list, name="triage_list"),
    path("mail/count/", triage.triage_count, name="triage_count"),
    path("mail/<int:pk>/", triage.triage_detail, name="triage_detail"),
    path("mail/<int:pk>/attach/", triage.triage_attach, name="triage_attach"),
    path("mail/<int:pk>/discard/", triage.triage_discard, name="triage_discard"),
    path("mail/<int:pk>/new-case/", triage.triage_new_case, name="triage_new_case"),
    path("mail/templates/", mail_views.template_list, name="mail_templates"),
    path("mail/templates/<slug:key>/", mail_views.template_edit, name="mail_template_edit"),
    path(
        "mail/templates/<slug:key>/reset/",
        mail_views.template_reset,
        name="mail_template_reset",
    ),
    path("tokens/", tokens.token_list, name="token_list"),
    path("settings/mail/", preferences.mail_settings, name="mail_settings"),
    path("tokens/<int:token_id>/revoke/", tokens.token_revoke, name="token_revoke"),
    path("webhooks/", webhook_views.subscription_list, name="webhook_list"),
    path("webhooks/new/", webhook_views.subscription_new, name="webhook_new"),
    path("webhooks/<int:pk>/", webhook_views.subscription_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/toggle/", webhook_views.subscription_toggle, name="webhook_toggle"),
    path("webhooks/deliveries/", webhook_views.delivery_list, name="webhook_deliveries"),
    path("webhooks/deliveries/<int:pk>/", webhook_views.delivery_detail, name="webhook_delivery"),
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        webhook_views.delivery_redeliver,
        name="webhook_redeliver",
    ),
    path("organizations/", organizations.organization_list, name="organization_list"),
    path("organizations/new/", vendors.organization_new, name="organization_new"),
    path("organizations/<int:pk>/edit/", vendors.organization_edit, name="organization_edit"),
    path("organizations/<int:pk>/", organizations.organization_detail, name="organization_detail"),
    path("organizations/<int:pk>/invite/", organizations.invite, name="organization_invite"),
    path(
        "organizations/<int:pk>/invitations/<int:invitation_id>/resend/",
        organizations.resend,
        name="organization_resend",
    ),
    path(
        "organizations/<int:pk>/contacts/<int:user_id>/deactivate/",
        organizations.deactivate,
        name="organization_deactivate",
    ),
]

# The affected-entity pages (after the converters are registered).
from .affected_urls import urlpatterns as _affected  # noqa: E402

urlpatterns += _affected
