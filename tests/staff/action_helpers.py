"""What the staff action tests share: URLs, time inputs, uploads, cases."""

from datetime import datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure.core.timeutils import now

SHA = "ab" * 32


def action_url(case, action: str) -> str:
    return f"/cases/{case.reference}/actions/{action}/"


def local(dt: datetime) -> str:
    """``dt`` as a datetime-local input value (in UTC, the test cases' zone)."""
    return dt.strftime("%Y-%m-%dT%H:%M")


def ago(**kwargs) -> str:
    return local(now() - timedelta(**kwargs))


def upload(content: bytes = b"re-test output\n", name: str = "retest.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")
