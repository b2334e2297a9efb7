import pytest

from disclosure.cases.stages import Stage
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("stage", list(Stage))
def test_make_case_reaches_every_stage_with_intact_chain(stage, analyst, lead, vendor):
    case = make_case(stage, actor=analyst, lead=lead, vendor=vendor)
    assert case.stage == stage
    report = verify_case(case)
    assert report.ok, report
    assert report.events >= 2
