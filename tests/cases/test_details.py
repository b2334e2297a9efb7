"""Case details' data categories (issue 16, item 15): BlueBleed's nine are
covered, "other" carries a free-text detail, and an error names every bad
value; cases recorded before the detail existed keep their state."""

import pytest

from disclosure.cases import services
from disclosure.cases.details import clean_details
from disclosure.cases.models import Case, DataCategory
from disclosure.cases.state import case_state, replay
from disclosure.core.errors import ValidationFailed
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db

BLUEBLEED = ["pii", "email_content", "contracts", "invoices", "statements_of_work",
             "proof_of_concept", "product_orders", "phone_numbers",
             "intellectual_property"]  # fmt: skip


def test_bluebleeds_nine_categories_are_known():
    assert set(BLUEBLEED) <= set(DataCategory.values)
    assert clean_details({"data_categories": BLUEBLEED})["data_categories"] == sorted(BLUEBLEED)


def test_the_error_names_every_bad_value_once():
    with pytest.raises(ValidationFailed) as e:
        clean_details({"data_categories": ["pii", "invoicez", "phones", "invoicez", 7]})
    assert e.value.field == "data_categories"
    assert e.value.message.startswith(
        "Unknown data categories 'invoicez', 'phones', 7: use any of "
    )
    assert "intellectual_property" in e.value.message


def test_other_needs_its_detail_and_the_detail_needs_other():
    with pytest.raises(ValidationFailed) as e:
        clean_details({"data_categories": ["other"]})
    assert e.value.field == "data_categories_other"
    with pytest.raises(ValidationFailed) as e:
        clean_details({"data_categories": ["pii"], "data_categories_other": "firmware"})
    assert e.value.field == "data_categories_other"
    cleaned = clean_details({"data_categories": ["other"], "data_categories_other": " firmware "})
    assert cleaned == {"data_categories": ["other"], "data_categories_other": "firmware"}


def test_other_data_recorded_changed_and_dropped_with_the_ledger_in_step(analyst, vendor):
    case = make_case("found", actor=analyst, vendor=vendor, data_categories=["pii", "other"],
                     data_categories_other="Firmware images")  # fmt: skip
    assert (case.data_categories, case.data_categories_other) == (["other", "pii"],
                                                                  "Firmware images")  # fmt: skip
    case = services.update_details(actor=analyst, case=case,
                                   changes={"data_categories_other": "Build keys"})  # fmt: skip
    assert Case.objects.get(pk=case.pk).data_categories_other == "Build keys"
    # dropping "other" drops what it was
    case = services.update_details(actor=analyst, case=case, changes={"data_categories": ["pii"]})
    assert Case.objects.get(pk=case.pk).data_categories_other == ""
    last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert last.payload["changes"]["data_categories_other"] == {"from": "Build keys", "to": ""}
    assert verify_case(case).ok


def test_a_case_recorded_before_the_detail_keeps_its_state(analyst, vendor):
    """Events written before data_categories_other existed never name it:
    the state they replay to is the row's (the empty detail is left out)."""
    case = make_case("secured", actor=analyst, vendor=vendor)
    events = []
    for e in CaseEvent.objects.filter(case=case).order_by("seq"):
        payload = dict(e.payload)
        for key in ("details", "changes"):
            if isinstance(payload.get(key), dict):
                payload[key] = {k: v for k, v in payload[key].items()
                                if k != "data_categories_other"}  # fmt: skip
        events.append((e.kind, e.occurred_at, payload))
    replayed = replay(events)
    assert "data_categories_other" not in replayed["details"]
    assert case_state(Case.objects.get(pk=case.pk)) == replayed
