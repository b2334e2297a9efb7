"""evidence.bulk: which files cases hold, in one query; new rows in one INSERT."""

import hashlib

import pytest

from disclosure.cases.stages import Stage
from disclosure.evidence.bulk import create_files, held
from disclosure.evidence.models import EvidenceFile
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(analyst, vendor):
    return [make_case(Stage.FOUND, actor=analyst, vendor=vendor) for _ in range(2)]


def _row(case, actor, content: bytes, name: str) -> EvidenceFile:
    return EvidenceFile(
        case=case, sha256=hashlib.sha256(content).hexdigest(), size=len(content),
        content_type="text/plain", original_name=name, kind="attachment", uploaded_by=actor,
        internal=True,
    )  # fmt: skip


def test_new_rows_are_written_with_one_insert_and_come_back_with_ids(
    cases, analyst, django_assert_num_queries
):
    a, b = cases
    rows = [_row(a, analyst, b"one", "one.txt"), _row(b, analyst, b"two", "two.txt")]
    with django_assert_num_queries(1):
        written = create_files(rows)
    assert all(row.pk is not None for row in written)
    assert sorted(EvidenceFile.objects.filter(pk__in=[r.pk for r in written]).values_list(
        "case_id", "original_name"
    )) == sorted([(a.pk, "one.txt"), (b.pk, "two.txt")])  # fmt: skip


def test_held_names_only_the_pairs_a_case_holds_in_one_query(
    cases, analyst, django_assert_num_queries
):
    a, b = cases
    one, two = hashlib.sha256(b"one").hexdigest(), hashlib.sha256(b"two").hexdigest()
    create_files([_row(a, analyst, b"one", "one.txt"), _row(b, analyst, b"two", "two.txt")])
    asked = {(a.pk, one), (a.pk, two), (b.pk, one), (b.pk, two)}
    with django_assert_num_queries(1):
        found = held(asked)
    assert found == {(a.pk, one), (b.pk, two)}  # not a's "two" nor b's "one"


def test_nothing_asked_asks_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert held([]) == set()
        assert create_files([]) == []
