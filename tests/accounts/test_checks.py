"""The accounts system check (``manage.py check``):
a vendor contact flagged superuser or staff is reported (issue 15, finding 12)."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from disclosure.accounts.checks import check_vendor_contacts_hold_no_admin_flags
from disclosure.accounts.models import User

pytestmark = pytest.mark.django_db


def test_no_report_without_such_accounts(vendor_contact, admin_user):
    User.objects.filter(pk=admin_user.pk).update(is_superuser=True)
    assert check_vendor_contacts_hold_no_admin_flags(databases=["default"]) == []


def test_a_flagged_vendor_contact_is_reported(vendor_contact, other_vendor_contact):
    # Written behind the model's back (SQL, an old row): the check finds it.
    User.objects.filter(pk=vendor_contact.pk).update(is_superuser=True)
    User.objects.filter(pk=other_vendor_contact.pk).update(is_staff=True)
    errors = check_vendor_contacts_hold_no_admin_flags(databases=["default"])
    assert [(e.id, e.level) for e in errors] == [
        ("accounts.E001", checks.ERROR),
        ("accounts.E001", checks.ERROR),
    ]
    text = " ".join(e.msg for e in errors)
    assert vendor_contact.username in text and "superuser" in text
    assert other_vendor_contact.username in text and "staff" in text


def test_a_plain_manage_py_check_reports_it(vendor_contact):
    User.objects.filter(pk=vendor_contact.pk).update(is_superuser=True)
    with pytest.raises(SystemCheckError, match=r"accounts\.E001"):
        call_command("check")


def test_manage_py_check_with_the_database_fails_on_it(vendor_contact):
    User.objects.filter(pk=vendor_contact.pk).update(is_superuser=True)
    with pytest.raises(SystemCheckError, match=r"accounts\.E001"):
        call_command("check", databases=["default"])
