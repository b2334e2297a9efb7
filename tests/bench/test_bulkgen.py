"""The benchmarks' bulk generator writes ledgers that verify: the figures
measured over them are figures over valid data."""

import pytest

from disclosure.accounts.models import Role
from disclosure.cases.models import Case
from disclosure.ledger.verify import verify_cases
from tests.factories import FirmFactory, MembershipFactory, VendorFactory
from tests.staff.cases_e import bulk_cases

pytestmark = pytest.mark.django_db


def test_generated_cases_verify_deep_with_records():
    analyst = MembershipFactory(organization=FirmFactory(), role=Role.ANALYST).user
    bulk_cases(6, actor=analyst, vendor=VendorFactory())

    reports = list(verify_cases(deep=True, records=True))

    assert Case.objects.count() == 6
    assert [(r.reference, [p.text for p in r.problems]) for r in reports if r.problems] == []
    assert sorted(r.events for r in reports) == [10] * 6
