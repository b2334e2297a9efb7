"""Fixtures of the staff UI tests."""

import pytest

from tests.factories import make_case


@pytest.fixture
def case_at(analyst, vendor):
    """A factory of cases walked by ``analyst`` to a stage."""

    def make(stage, **kwargs):
        return make_case(stage, actor=analyst, vendor=vendor, **kwargs)

    return make
