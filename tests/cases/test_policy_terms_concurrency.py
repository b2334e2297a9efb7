"""A policy edit racing the services that copy a policy's terms onto a case
(opening, a follow-up, a change of policy), on PostgreSQL with real
connections: none deadlocks, and every open case under the policy ends up
with the policy's terms as they are, so verify_ledger stays clean."""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger.verify import verify_cases
from tests.factories import capture, make_case
from tests.ledger.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("days", [5, 6, 7])
def test_a_policy_edit_racing_openings_follow_ups_and_policy_changes(
    days, admin_user, analyst, lead, vendor
):
    tight = DisclosurePolicy.objects.create(
        name="Tight", days_to_acknowledge=1, days_to_secure=2, days_to_publish=10
    )
    secured = make_case(Stage.SECURED, actor=analyst, vendor=vendor, policy=tight)
    elsewhere = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor,
                          exposure_evidence=[capture(b"e")])  # fmt: skip
    start = now() - timedelta(hours=1)
    results = race([
        lambda: services.edit_policy(actor=admin_user, policy=tight,
                                     changes={"days_to_secure": days}),
        lambda: services.open_case(
            actor=analyst, vendor=vendor, title="New", asset_provider="aws",
            asset_kind="s3_bucket", asset_identifier="s3://new", how_found="Scan",
            found_at=start, exposure_evidence=[capture(b"n")], policy=tight,
        ),
        lambda: services.open_follow_up(
            actor=analyst, case=secured, found_at=now() - timedelta(minutes=1),
            how_found="Re-scan", exposure_evidence=[capture(b"f")],
        ),
        lambda: services.update_details(actor=lead, case=elsewhere, changes={"policy": tight}),
    ])  # fmt: skip
    assert not [r for r in results if isinstance(r, Exception)], results
    under = Case.objects.filter(policy=tight)
    assert under.count() == 4
    assert set(under.values_list("terms_days_to_secure", flat=True)) == {days}
    reports = list(verify_cases())
    assert all(r.ok for r in reports), [r.problem for r in reports if not r.ok]
