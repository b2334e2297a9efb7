"""schemathesis against the live schema (/api/v1/schema/, through WSGI): a
bounded number of generated requests per operation, as a staff member
and as a vendor contact, each on a case it may act on. No answer is a 5xx
and every answer matches the schema (status, content type, body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from disclosure.tokens import services as tokens
from disclosure.wsgi import application

MAX_EXAMPLES = 10
# What the issue asks: no 5xx, every answer as documented. (Schema-valid
# bodies that a service's rules refuse, a found time in the future say,
# are a documented 400, not a failure.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_keep_test_connection")]

# Operations in docs/openapi.yaml: every one is called.
# + me/, staff/, answer_dispute, settle_dispute, vendors POST and PATCH, send_mail, mail/
# + affected/ (GET), affected/imports/ (POST), affected/imports/{id}/ (GET),
#   affected/claims/ (POST): issue 19
# + me/mail-settings/ (GET, PUT), cases/{reference}/watch/ (GET, PUT),
#   mail/triage/ (list, message, attach, new-case, discard): issue 17
OPERATIONS = 69


@pytest.fixture
def _keep_test_connection():
    """Requests go through the real WSGI application, whose request signals
    close old database connections: that would close the test's connection
    (inside its transaction) on PostgreSQL. Django's test client disconnects
    them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _run(user, reference: str, *, max_examples: int = MAX_EXAMPLES):
    """Every operation, ``max_examples`` generated requests each, as ``user``;
    the case path parameter is ``reference`` (else nothing but 404s).
    Returns the failures and the status codes answered, per operation."""
    secret = tokens.create_token(user=user, name="schemathesis", scope="read_write").secret
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    failures, statuses = [], {}
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()
        seen = statuses.setdefault(f"{operation.method.upper()} {operation.path}", set())

        @settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, use_reference=st.booleans())
        def check(case, use_reference):
            if "reference" in (case.path_parameters or {}) and use_reference:
                case.path_parameters["reference"] = reference
            case.headers = {**(case.headers or {}), **headers}
            response = case.call_and_validate(checks=CHECKS)
            seen.add(response.status_code)  # noqa: B023 (run before the loop moves on)

        try:
            check()
        except Exception as e:  # collect every operation's failure, then report
            failures.append(f"{operation.method.upper()} {operation.path}: {e}")
    return failures, statuses


def test_schemathesis_as_staff(lead, case_at):
    case = case_at("vendor_notified")
    failures, statuses = _run(lead, case.reference)
    assert failures == []
    # Every operation was called, and the reads succeeded on the real case.
    assert len(statuses) == OPERATIONS, sorted(statuses)
    assert 200 in statuses["GET /api/v1/cases/{reference}/events/"]
    assert 200 in statuses["GET /api/v1/cases/"]


def test_schemathesis_as_vendor_contact(vendor_contact, case_at):
    case = case_at("data_deleted")
    failures, statuses = _run(vendor_contact, case.reference)
    assert failures == []
    assert len(statuses) == OPERATIONS, sorted(statuses)
    assert 200 in statuses["GET /api/v1/cases/{reference}/attestation/"]
    assert statuses["GET /api/v1/organizations/"] == {403}
