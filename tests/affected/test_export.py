"""The legal export prints the counts and both parties' claims from the
bundle's own events (full and vendor variants), the same every time."""

import io

import pytest

from disclosure.affected import claims, importing
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.exports import render
from disclosure.exports.bundle import build_bundle
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor, vendor_contact):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    batch = importing.start_import(
        actor=analyst, case=case, file=io.BytesIO(b"email\na@contoso.com\nb@gmail.com\n"),
        filename="l.csv", format="csv",
    )  # fmt: skip
    importing.run_import(batch_id=batch.pk)
    claims.file_count_claim(actor=analyst, case=case, level="domains", count=2, method="PSL")
    claims.file_count_claim(actor=vendor_contact, case=case, level="domains", count=1,
                            method="CRM accounts")  # fmt: skip
    case.refresh_from_db()
    return case


@pytest.mark.parametrize("variant", ["full", "vendor"])
def test_the_export_prints_counts_and_claims(case, variant):
    bundle = build_bundle(case=case, variant=variant, communications="full",
                          generated_at=now(), checkpoint=None)  # fmt: skip
    ctx = render._context(bundle)
    rows = {r["level"]: r for r in ctx["body"]["affected"]["rows"]}
    assert rows["domains"]["counted"] == 2
    assert rows["business_domains"]["counted"] == 1
    assert (rows["domains"]["firm"]["count"], rows["domains"]["vendor"]["count"]) == (2, 1)
    assert ctx["body"]["affected"]["suffix_list"].startswith("PSL ")
    html = render._html(ctx, {"tail": True})
    assert "Affected entities: counts and count claims" in html
    assert "CRM accounts" in html
    assert html == render._html(render._context(bundle), {"tail": True})  # reproducible
