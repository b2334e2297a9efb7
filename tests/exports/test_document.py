"""The PDF's case details (document.summary_rows) read from the bundle."""

from disclosure.exports.document import Clock, summary_rows


def _categories(case: dict) -> str:
    return dict(summary_rows(case, Clock(None)))["Data categories"]


def test_other_data_is_named_beside_the_category_labels():
    case = {
        "data_categories": ["invoices", "other"],
        "data_categories_other": "Firmware images",
    }
    assert _categories(case) == "Invoices, Other: Firmware images"


def test_other_without_its_detail_and_bundles_before_the_field_print_the_label():
    assert _categories({"data_categories": ["other"], "data_categories_other": ""}) == (
        "Other (say what)"
    )
    assert _categories({"data_categories": ["pii"]}) == "Personal data (PII)"
