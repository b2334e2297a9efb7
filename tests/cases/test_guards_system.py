"""locked_case checks the person; only system_locked_case (the system's own
work) goes without, and no value a caller can pass to locked_case does."""

import pytest

from disclosure.cases.guards import locked_case, system_locked_case
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotFound
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_locked_case_refuses_no_actor_and_the_system_lock_needs_none(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    # nobody: the case is not there for them
    with pytest.raises(NotFound), locked_case(case, actor=None, action="log_communication"):
        pass
    with system_locked_case(case, action="log_communication") as locked:
        assert locked.pk == case.pk
