"""The functions of the service modules that the property tests leave out,
each with the reason (``test_every_service_module_is_covered`` fails on a
public function of a service module that is neither a service there nor
named here)."""

# Functions of the service modules that are not services: helpers that the
# services call with checked values inside their transaction (and lock),
# reads, and what the API's authentication calls with the header's text.
INTERNAL = {
    "disclosure.affected.importing": {
        "progress_key": "a pure function (the cache key)",
        "progress": "a read of the cache",
        "hash_key": "a read of the settings",
        "run_import": "the task's body: runs an import start_import recorded, by its id",
    },
    "disclosure.probes.services": {
        "default_interval": "a read: the setting",
        "schedule_for": "a helper of the probe services, on their locked case",
        "probe_account": "a read: the system's account",
        "record_outcome": "the system's write of a probe it made (no actor, no user input)",
        "retest_text": "a pure function",
        "window_end": "a pure function",
    },
    "disclosure.probes.runs": {
        "eligible_cases": "a read: a query condition",
        "is_eligible": "a read: the same for a loaded case",
        "ensure_schedules": "a step of run_due_probes (no user input)",
        "claim_due": "a step of run_due_probes (no user input)",
        "fetch_all": "the network step of run_due_probes (no database)",
        "run_due_probes": "the system's periodic run (no actor, no user input: a time)",
    },
    "disclosure.webhooks.services": {
        "may_manage": "a read: the user's role",
        "new_secret": "a pure function",
        "check_address": "a check the subscription services make",
    },
    "disclosure.evidence.retention": {
        "retention_days": "a read: the period in force for a case",
        "purge_due_at": "a read: when a case's evidence is due for purging",
        "blob_needed": "a read: whether a row still needs a blob",
        "purge_expired": "the system's daily run (no actor, no user input: a time)",
        "may_set_retention": "a read: whether the user may change the period",
    },
    "disclosure.comms.triage": {
        "waiting_messages": "a read: the triage list",
        "waiting_count": "a read: the navigation's count",
        "shown": "a read: a received message as its page and the API show it",
    },
    "disclosure.accounts.invitations": {
        "max_age": "a read: the setting",
        "check_invitation": "a read: the portal's check of a link (InvitationInvalid)",
        "existing_account": "a read: the account an invitation's address has",
    },
    "disclosure.cases.services.opening": {
        "default_policy": "a read: the default policy",
        "next_reference": "a helper of create_case, under its lock",
        "require_exposure_evidence": "a check open_case and submit_finding make",
        "create_case": "the write open_case and submit_finding share, after checking",
    },
    "disclosure.cases.services.lifecycle": {
        "enter_stage": "the write every stage service makes on its locked case",
        "enter_vendor_notified": "the stage entry notify_vendor and send_case_mail share",
        "record_note": "a helper of the stage services, on their locked case",
    },
    "disclosure.cases.services.policy_terms": {
        "lock_policy": "the row lock edit_policy takes",
    },
    "disclosure.comms.services": {
        "write_communication": "the write log_communication and notify_vendor share",
    },
    "disclosure.comms.outbound": {
        "is_first_notice": "a read: whether mail on a case is a first notice",
        "can_record_notified": "a read: whether the compose form offers the checkbox",
        "subject_with_reference": "a pure function",
        "build_message": "a helper of send_case_mail, with its checked values",
    },
    "disclosure.comms.preferences": {
        "is_watching": "a read: the case page's toggle",
    },
    "disclosure.comms.templates": {
        "get_template": "a read: one template",
        "all_templates": "a read: the five templates",
        "check_placeholders": "a check edit_mail_template makes",
        "fill": "a pure function",
        "portal_link": "a read: a URL",
        "reply_address": "a read: the setting filled in",
        "placeholders": "a read: the case's values",
        "render_template": "a read: a template filled in",
        "can_edit_templates": "a read: the user's role",
    },
    "disclosure.evidence.services": {
        "write_evidence": "the write attach_evidence and the stage services share",
        "write_evidence_files": "the same, for a list",
        "clean_deletion_items": "a check record_deletion makes",
        "clean_retained_metadata": "a check record_deletion makes",
        "write_attestation": "the write record_deletion makes on its locked case",
    },
    "disclosure.exports.services": {
        "export_storage": "a read: where export files are stored",
        "produce": "the render run_export and export_case run for a case they hold",
    },
    "disclosure.ledger.services": {
        "require_consistent": "a check every service makes on its locked case",
        "append_event": "the write every service makes on its locked case",
        "head_written_once": "a context manager around append_event (received mail)",
    },
    "disclosure.accounts.lockout": {
        "locked_message": "a read: the message",
        "account_locked": "a read: whether an account is locked",
        "address_locked": "a read: whether an address is locked",
        "address_locked_fast": "a read: the same, for every API request",
        "is_locked": "a read: either",
        "record_failure": "the sign-in pages' and the API authentication's record of a failure",
        "current_locks": "a read: the admin's list",
    },
    "disclosure.accounts.mfa": {
        "has_factor": "a read",
        "factor_required": "a read: the setting and the role",
        "recovery_codes_left": "a read",
        "pending_device": "the enrolment page's unconfirmed device of a signed-in user",
        "verify": "the sign-in's check of a code (None when wrong, a counted failure)",
    },
    "disclosure.accounts.passwords": {
        "reset_link_path": "a pure function of a user",
        "password_changed": "the step after Django's own password forms saved",
    },
    "disclosure.accounts.sessions": {
        "register": "the sign-in pages' record of the session they made",
        "rekey": "the password change's move of its own session",
        "sessions_of": "a read: the user's live sessions",
        "end_all": "a step of reset_factors and password_changed",
        "forget": "sign-out's removal of its own session's row",
    },
    "disclosure.lookups.services": {
        "require_portal_user": "a check every lookup service makes",
        "dns_token": "a pure function of a verification row",
        "record_name": "a pure function",
        "mail_method": "a pure function",
        "security_txt_contacts": "a read: the security.txt's contacts (no write)",
        "dns_challenge": "a read: the pending DNS challenge, to show it again",
    },
    "disclosure.lookups.lookup": {
        "is_verified": "a read",
        "searchable_cases": "a read: a queryset",
    },
    "disclosure.tokens.services": {
        "hash_token": "a pure function",
        "authenticate": "the API authentication's check of a header (TokenRefused)",
    },
}
