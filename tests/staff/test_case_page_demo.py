"""Every demo case's page and every evidence file download work for each
staff role, and the page's query count stays fixed whatever a case holds."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.accounts.models import Role
from disclosure.cases.models import Case
from disclosure.demo.seed import PEOPLE
from disclosure.evidence.models import EvidenceFile

pytestmark = pytest.mark.django_db

# The case page's 18 queries (see test_case_page_tabs), plus one for the case
# a follow-up follows up.
MAX_QUERIES = 19


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())


STAFF = [Role.ANALYST, Role.LEAD, Role.LEGAL, Role.ADMIN]


@pytest.mark.parametrize("role", STAFF)
def test_every_demo_case_page_and_download(role, demo, client):
    from disclosure.accounts.models import User

    person = next(p for p in PEOPLE if p.org == "firm" and p.role == role)
    client.force_login(User.objects.get(username=person.username))
    cases = list(Case.objects.order_by("reference"))
    assert cases
    for case in cases:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/cases/{case.reference}/")
        assert response.status_code == 200, case.reference
        assert len(queries) <= MAX_QUERIES, (case.reference, len(queries))
        assert len(response.context["timeline"].entries) == min(case.ledger_seq, 50)
    for evidence in EvidenceFile.objects.select_related("case"):
        response = client.get(f"/cases/{evidence.case.reference}/evidence/{evidence.pk}/")
        assert response.status_code == 200, evidence.original_name
        assert len(b"".join(response.streaming_content)) == evidence.size
