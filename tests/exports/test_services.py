"""request_export, run_export and record_download: access, options,
ledger events, failures and progress, stored file."""

import pytest

from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.hashing import sha256_hex
from disclosure.exports import render, selectors, services
from disclosure.exports.models import Export, ExportStatus
from disclosure.ledger.models import EventKind
from tests.exports.rich_case import *  # noqa: F403
from tests.factories import make_case


@pytest.fixture
def case(lead, vendor, export_storage):
    return make_case("vendor_notified", actor=lead, vendor=vendor)


def _request(user, case, capture, **options):
    with capture(execute=True):
        export = services.request_export(actor=user, case=case, **options)
    export.refresh_from_db()
    return export


# Written out by hand: who may export a case that the vendor has been notified of.
ACCESS = [
    ("legal", None),
    ("lead", None),
    ("admin_user", None),
    ("analyst", NotPermitted),
    ("vendor_contact", NotPermitted),  # sees the case, may not export it
    ("other_vendor_contact", NotFound),
    ("outsider", NotFound),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "error"), ACCESS)
def test_who_may_request_an_export(who, error, case, request, django_capture_on_commit_callbacks):
    user = request.getfixturevalue(who)
    before = case.ledger_seq
    if error is None:
        export = _request(user, case, django_capture_on_commit_callbacks)
        assert export.status == ExportStatus.DONE, export.error
        assert selectors.exports_for(user, case).get() == export
        return
    with pytest.raises(error):
        services.request_export(actor=user, case=case)
    case.refresh_from_db()
    assert case.ledger_seq == before and not Export.objects.exists()
    assert not selectors.exports_for(user, case).exists()


@pytest.mark.django_db
def test_anonymous_may_not_export(case):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotPermitted):
        services.request_export(actor=AnonymousUser(), case=case)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("option", "value"),
    [("format", "docx"), ("variant", "everything"), ("communications", "some"), ("format", 3)],
)
def test_unknown_options_are_refused_and_nothing_is_written(legal, case, option, value):
    before = case.ledger_seq
    with pytest.raises(ValidationFailed) as info:
        services.request_export(actor=legal, case=case, **{option: value})
    assert info.value.field == option
    case.refresh_from_db()
    assert case.ledger_seq == before and not Export.objects.exists()


@pytest.mark.django_db
def test_a_request_is_an_internal_ledger_event_and_its_render_is_stored(
    legal, case, export_storage, django_capture_on_commit_callbacks
):
    export = _request(
        legal, case, django_capture_on_commit_callbacks, variant="vendor", communications="excerpt"
    )
    event = case.events.get(seq=export.request_seq)
    assert event.kind == EventKind.EXPORT_REQUESTED and event.internal
    assert event.actor == legal
    assert event.payload == {
        "export_id": export.pk, "format": "pdf", "variant": "vendor", "communications": "excerpt",
    }  # fmt: skip
    assert export.status == ExportStatus.DONE and export.progress == 100
    stored = (export_storage / export.file_name).read_bytes()
    assert sha256_hex(stored) == export.sha256 and len(stored) == export.size
    assert stored.startswith(b"%PDF-") and export.pages >= 5
    assert export.chain_seq == export.request_seq  # the export holds its own request
    assert export.started_at <= export.finished_at and export.generated_at is not None


@pytest.mark.django_db
def test_a_json_export_is_the_canonical_bundle(legal, case, django_capture_on_commit_callbacks):
    import json

    export = _request(legal, case, django_capture_on_commit_callbacks, format="json")
    _, data = services.record_download(actor=legal, export=export)
    bundle = json.loads(data)
    assert bundle["format"] == "disclosure-export" and bundle["chain"]["seq"] == export.chain_seq
    assert bundle["inclusion_proof"]["entry"][1] == export.chain_seq
    assert export.download_name.endswith(".json")


@pytest.mark.django_db
def test_a_download_is_an_internal_ledger_event(
    legal, lead, analyst, case, django_capture_on_commit_callbacks
):
    export = _request(legal, case, django_capture_on_commit_callbacks)
    _, data = services.record_download(actor=lead, export=export)
    assert sha256_hex(data) == export.sha256
    case.refresh_from_db()
    event = case.events.get(seq=case.ledger_seq)
    assert event.kind == EventKind.EXPORT_DOWNLOADED and event.internal and event.actor == lead
    assert event.payload == {"export_id": export.pk, "sha256": export.sha256, "format": "pdf"}
    with pytest.raises(NotPermitted):
        services.record_download(actor=analyst, export=export)


@pytest.mark.django_db
def test_a_failed_render_says_why_and_cannot_be_downloaded(
    legal, case, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(bundle, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(render, "render_pdf", broken)
    export = _request(legal, case, django_capture_on_commit_callbacks)
    assert export.status == ExportStatus.FAILED
    assert export.error == "OSError: disk full" and not export.sha256
    before = case.events.count()
    with pytest.raises(services.ExportNotReady):
        services.record_download(actor=legal, export=export)
    assert case.events.count() == before


@pytest.mark.django_db
def test_a_long_render_reports_its_progress(
    legal, case, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []
    real = render.render_pdf

    def observed(bundle, *, progress, split=None):
        progress(42)
        seen.append(Export.objects.get().progress)
        return real(bundle, progress=progress, split=split)

    monkeypatch.setattr(render, "render_pdf", observed)
    export = _request(legal, case, django_capture_on_commit_callbacks)
    assert seen == [42] and export.progress == 100


@pytest.mark.django_db
def test_a_tampered_stored_file_is_not_served(
    legal, case, export_storage, django_capture_on_commit_callbacks
):
    export = _request(legal, case, django_capture_on_commit_callbacks)
    path = export_storage / export.file_name
    path.write_bytes(path.read_bytes() + b"%")
    before = case.events.count()
    with pytest.raises(services.ExportFileCorrupt):
        services.record_download(actor=legal, export=export)
    assert case.events.count() == before


@pytest.mark.django_db
def test_a_finished_export_is_not_rendered_again(legal, case, django_capture_on_commit_callbacks):
    export = _request(legal, case, django_capture_on_commit_callbacks)
    again = services.run_export(export_id=export.pk)
    assert again.sha256 == export.sha256 and again.finished_at == export.finished_at
    with pytest.raises(NotFound):
        services.run_export(export_id=export.pk + 1000)
