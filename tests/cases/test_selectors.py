"""Selectors: reads through the access module, with their prefetching."""

import pytest

from disclosure.cases.selectors import case_by_reference, case_list
from disclosure.cases.stages import Stage
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_case_list_is_one_query_whatever_its_length(
    analyst, lead, vendor, django_assert_num_queries
):
    for stage in (Stage.FOUND, Stage.SECURED, Stage.PUBLISHED):
        make_case(stage, actor=analyst, lead=lead, vendor=vendor, assignee=lead)
    lead_principal_loaded = list(case_list(lead))  # loads the user's memberships once
    assert len(lead_principal_loaded) == 3
    with django_assert_num_queries(1):
        rows = [
            (c.reference, c.vendor.name, c.assignee.username, c.policy.name)
            for c in case_list(lead)
        ]
    assert len(rows) == 3


def test_case_by_reference_hides_what_the_user_may_not_see(
    analyst, vendor, vendor_contact, other_vendor_contact
):
    found = make_case(actor=analyst, vendor=vendor)
    notified = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    assert case_by_reference(analyst, found.reference) == found
    assert case_by_reference(vendor_contact, found.reference) is None  # not yet notified
    assert case_by_reference(vendor_contact, notified.reference) == notified
    assert case_by_reference(other_vendor_contact, notified.reference) is None
    assert case_by_reference(analyst, "DSC-1999-0001") is None


def test_evidence_for_nobody_who_cannot_see_the_case(analyst, vendor, other_vendor_contact):
    from disclosure.cases.selectors import evidence_for

    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    assert evidence_for(analyst, case).count() == 1
    assert not evidence_for(other_vendor_contact, case).exists()
