"""manage.py export_case REFERENCE -o FILE [--format] [--variant] [--as]."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from disclosure.exports.bundle import ATTACHMENT_NAME
from disclosure.exports.models import Export
from disclosure.ledger.models import EventKind
from tests.exports.rich_case import *  # noqa: F403
from tests.factories import make_case


@pytest.fixture
def case(lead, vendor, export_storage):
    return make_case("secured", actor=lead, vendor=vendor)


@pytest.mark.django_db
def test_a_pdf_export_from_the_shell(case, tmp_path):
    out = tmp_path / "x.pdf"
    call_command("export_case", case.reference, "-o", str(out), stderr=io.StringIO())
    reader = PdfReader(out)
    bundle = json.loads(reader.attachments[ATTACHMENT_NAME][0])
    assert bundle["case"]["reference"] == case.reference and bundle["variant"] == "full"
    assert not Export.objects.exists()  # the operator's shell writes no Export row


@pytest.mark.django_db
def test_a_vendor_json_export_from_the_shell(case, tmp_path):
    out = tmp_path / "x.json"
    call_command(
        "export_case", case.reference, "-o", str(out), "--format", "json", "--variant", "vendor",
        stderr=io.StringIO(),
    )  # fmt: skip
    bundle = json.loads(out.read_bytes())
    assert bundle["variant"] == "vendor" and "how_found" not in bundle["case"]


@pytest.mark.django_db
def test_as_a_user_the_request_and_download_are_recorded(case, legal, analyst, tmp_path):
    out = tmp_path / "x.pdf"
    call_command(
        "export_case", case.reference, "-o", str(out), "--as", legal.username,
        stderr=io.StringIO(),
    )  # fmt: skip
    export = Export.objects.get()
    assert export.requested_by == legal and out.read_bytes().startswith(b"%PDF-")
    kinds = list(case.events.order_by("-seq").values_list("kind", flat=True)[:2])
    assert kinds == [EventKind.EXPORT_DOWNLOADED, EventKind.EXPORT_REQUESTED]
    with pytest.raises(CommandError, match="not allowed"):
        call_command("export_case", case.reference, "-o", str(out), "--as", analyst.username)


@pytest.mark.django_db
def test_unknown_case_and_user_are_errors(case, tmp_path):
    with pytest.raises(CommandError, match="No case DSC-1999-0001"):
        call_command("export_case", "DSC-1999-0001", "-o", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="No user nobody"):
        call_command("export_case", case.reference, "-o", str(tmp_path / "x"), "--as", "nobody")
