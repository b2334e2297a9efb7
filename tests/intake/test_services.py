"""Scanner intake: a finding opens one case, whatever how often (or how
simultaneously) it is submitted; repeats add only new evidence."""

import io
import threading

import pytest
from django.db import connection

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.core.errors import EvidenceRequired, NotPermitted, ValidationFailed
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.services import IncomingFile
from disclosure.intake import selectors
from disclosure.intake.models import Finding
from disclosure.intake.services import submit_finding
from tests.factories import FirmFactory, MembershipFactory, VendorFactory


def files(*contents: bytes, kind="exposure_capture"):
    return [IncomingFile(name=f"f{i}.txt", stream=io.BytesIO(c), kind=kind)
            for i, c in enumerate(contents)]  # fmt: skip


def finding(vendor, **changes):
    return {
        "source": "bucket-scanner",
        "external_id": "F-1001",
        "vendor": vendor,
        "title": "Open blob container",
        "asset_provider": "azure",
        "asset_kind": "blob_container",
        "asset_identifier": "https://acct.blob.core.windows.net/data",
        "evidence": files(b"listing"),
        **changes,
    }


@pytest.mark.django_db
def test_first_submission_opens_a_case_at_found(analyst, vendor):
    result = submit_finding(actor=analyst, data_categories=["pii"], **finding(vendor))
    assert result.created
    case = result.case
    assert case.stage == "found" and case.vendor == vendor
    assert case.how_found == "Reported by the scanner 'bucket-scanner' as finding 'F-1001'."
    assert case.data_categories == ["pii"]
    assert result.finding.case == case and result.finding.submissions == 1
    assert EvidenceFile.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_a_repeat_returns_the_same_case_and_adds_only_new_evidence(analyst, vendor):
    first = submit_finding(actor=analyst, **finding(vendor))
    seq = Case.objects.get(pk=first.case.pk).ledger_seq
    again = submit_finding(actor=analyst, **finding(vendor, title="Ignored on a repeat"))
    assert not again.created and again.case.pk == first.case.pk and again.attached == []
    assert Case.objects.get(pk=first.case.pk).ledger_seq == seq  # nothing appended
    more = submit_finding(actor=analyst, **finding(vendor, evidence=files(b"listing", b"new")))
    assert [f.original_name for f in more.attached] == ["f1.txt"]
    assert Case.objects.count() == 1 and EvidenceFile.objects.count() == 2
    assert Finding.objects.get().submissions == 3
    assert Case.objects.get().title == "Open blob container"


@pytest.mark.django_db
def test_the_same_id_from_another_source_is_another_finding(analyst, vendor):
    submit_finding(actor=analyst, **finding(vendor))
    other = submit_finding(actor=analyst, **finding(vendor, source="other-scanner"))
    assert other.created and Case.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"source": " "}, ValidationFailed, "source"),
        ({"external_id": ""}, ValidationFailed, "external_id"),
        ({"external_id": "x" * 201}, ValidationFailed, "external_id"),
        ({"evidence": []}, EvidenceRequired, "exposure_evidence"),
        ({"evidence": files(b"x", kind="other")}, EvidenceRequired, "exposure_evidence"),
        ({"asset_kind": "mainframe"}, ValidationFailed, "asset_kind"),
    ],
)
def test_bad_findings_change_nothing(analyst, vendor, changes, error, field):
    with pytest.raises(error) as e:
        submit_finding(actor=analyst, **finding(vendor, **changes))
    assert e.value.field == field
    assert not Case.objects.exists() and not Finding.objects.exists()


@pytest.mark.django_db
def test_only_those_who_may_open_cases_submit(legal, vendor_contact, vendor):
    for user in (legal, vendor_contact):
        with pytest.raises(NotPermitted):
            submit_finding(actor=user, **finding(vendor))
    assert not Finding.objects.exists()


@pytest.mark.django_db
def test_findings_are_listed_to_staff_only(analyst, vendor, vendor_contact):
    submit_finding(actor=analyst, **finding(vendor))
    assert selectors.findings_for(analyst).count() == 1
    assert selectors.findings_for(vendor_contact).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_submissions_at_once_give_one_case():
    """Two threads, two connections, one barrier: both submit the same
    finding at the same moment; one case, one finding, two submissions."""
    vendor = VendorFactory(name="Contoso")
    scanner = MembershipFactory(organization=FirmFactory(), role="analyst").user
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            results.append(submit_finding(actor=scanner, **finding(vendor)))
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].case.pk == results[1].case.pk
    assert Case.objects.count() == 1 and Finding.objects.get().submissions == 2
    assert EvidenceFile.objects.count() == 1


@pytest.mark.django_db
def test_new_evidence_for_a_closed_case_is_refused_and_not_counted(analyst, lead, vendor):
    from disclosure.core.errors import TransitionNotAllowed

    first = submit_finding(actor=analyst, **finding(vendor))
    services.close_case(actor=lead, case=first.case, reason="invalid")
    # the same evidence again: nothing to attach, the repeat is answered
    assert submit_finding(actor=analyst, **finding(vendor)).case.pk == first.case.pk
    with pytest.raises(TransitionNotAllowed):
        submit_finding(actor=analyst, **finding(vendor, evidence=files(b"listing", b"new")))
    assert Finding.objects.get().submissions == 2
    assert EvidenceFile.objects.count() == 1
