"""URLs of the REST API v1 (mounted at /api/v1/)."""

from csp.constants import NONCE
from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from .views import (
    actions,
    affected,
    cases,
    exports,
    intake,
    lookups,
    mail,
    mailbox,
    organizations,
    people,
    records,
    tokens,
)
from .views.misc import not_found

app_name = "api"

# The interactive docs run one inline start-up script and style: this page
# alone allows them, by the request's nonce (templates/api/swagger_ui.html).
docs_view = csp_update({"script-src": [NONCE], "style-src": [NONCE]})(
    SpectacularSwaggerView.as_view(url_name="api:schema", template_name="api/swagger_ui.html")
)

CASE = "cases/<str:reference>/"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs_view, name="docs"),
    path("me/", people.Me.as_view(), name="me"),
    path("staff/", people.StaffDirectory.as_view(), name="staff"),
    path("organizations/", organizations.OrganizationList.as_view(), name="organizations"),
    path(
        "organizations/<int:pk>/",
        organizations.OrganizationDetail.as_view(),
        name="organization",
    ),
    path("cases/", cases.CaseList.as_view(), name="cases"),
    path(CASE, cases.CaseDetail.as_view(), name="case"),
    path(CASE + "actions/", actions.AvailableActions.as_view(), name="actions"),
    *(
        path(CASE + f"actions/{action}/", view.as_view(), name=f"action-{action}")
        for action, view in actions.ACTION_VIEWS.items()
    ),
    path(CASE + "events/", records.EventList.as_view(), name="events"),
    path(CASE + "communications/", records.CommunicationList.as_view(), name="communications"),
    path(CASE + "mail/", mail.CaseMail.as_view(), name="mail"),
    path(CASE + "watch/", mailbox.CaseWatch.as_view(), name="case-watch"),
    path("me/mail-settings/", mailbox.MailSettings.as_view(), name="mail-settings"),
    path("mail/triage/", mailbox.TriageList.as_view(), name="triage"),
    path("mail/triage/<int:message_id>/", mailbox.TriageDetail.as_view(), name="triage-message"),
    path(
        "mail/triage/<int:message_id>/attach/",
        mailbox.TriageAttach.as_view(),
        name="triage-attach",
    ),
    path(
        "mail/triage/<int:message_id>/new-case/",
        mailbox.TriageNewCase.as_view(),
        name="triage-new-case",
    ),
    path(
        "mail/triage/<int:message_id>/discard/",
        mailbox.TriageDiscard.as_view(),
        name="triage-discard",
    ),
    path(CASE + "evidence/", records.EvidenceList.as_view(), name="evidence"),
    path(
        CASE + "evidence/<int:evidence_id>/download/",
        records.EvidenceDownload.as_view(),
        name="evidence-download",
    ),
    path(CASE + "disputes/", records.DisputeList.as_view(), name="disputes"),
    path(CASE + "affected/", affected.AffectedCounts.as_view(), name="affected"),
    path(CASE + "affected/imports/", affected.AffectedImports.as_view(), name="affected-imports"),
    path(
        CASE + "affected/imports/<int:import_id>/",
        affected.AffectedImportDetail.as_view(),
        name="affected-import",
    ),
    path(CASE + "affected/claims/", affected.AffectedClaims.as_view(), name="affected-claims"),
    path(CASE + "escalations/", records.EscalationList.as_view(), name="escalations"),
    path(CASE + "attestation/", records.AttestationDetail.as_view(), name="attestation"),
    path(CASE + "exports/", exports.ExportList.as_view(), name="exports"),
    path(CASE + "exports/<int:export_id>/", exports.ExportDetail.as_view(), name="export"),
    path(
        CASE + "exports/<int:export_id>/download/",
        exports.ExportDownload.as_view(),
        name="export-download",
    ),
    path("tokens/", tokens.TokenList.as_view(), name="tokens"),
    path("tokens/<int:token_id>/revoke/", tokens.TokenRevoke.as_view(), name="token-revoke"),
    path("intake/findings/", intake.FindingList.as_view(), name="findings"),
    path("lookups/", lookups.Lookup.as_view(), name="lookups"),
    path("lookups/verifications/", lookups.VerificationList.as_view(), name="verifications"),
    path(
        "lookups/verifications/confirm/",
        lookups.VerificationConfirm.as_view(),
        name="verification-confirm",
    ),
    path(
        "lookups/verifications/check-dns/",
        lookups.VerificationCheckDns.as_view(),
        name="verification-check-dns",
    ),
    re_path(r"^.*$", not_found, name="not-found"),
]
