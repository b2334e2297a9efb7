"""Every write of the exports app: request an export, render it, record a download.

- ``request_export``: a user allowed ``Action.EXPORT`` on the case asks for
  an export; the Export row (queued) and the ledger event
  ``export_requested`` are written in one transaction under the case lock,
  and the render task is queued when it commits.
- ``run_export``: the render (the Celery task's body). It makes sure a
  signed checkpoint covers the case's current head, builds the bundle,
  renders the PDF (or the JSON), signs it when a signing key is configured,
  stores it privately and records its SHA-256 and size. Any failure leaves
  the row ``failed`` with the reason; a long render updates ``progress``.
- ``record_download``: the ledger event ``export_downloaded`` for a ready
  export, then its bytes (checked against the stored SHA-256).
"""

import logging
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction

from disclosure.accounts import audit
from disclosure.accounts.models import User
from disclosure.cases.access import Action
from disclosure.cases.guards import locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import DomainError, NotFound, ValidationFailed
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.core.validation import validated
from disclosure.ledger.checkpoints import write_checkpoint
from disclosure.ledger.models import Checkpoint, EventKind
from disclosure.ledger.services import append_event

from .bundle import build_bundle, bundle_bytes
from .models import CommunicationsMode, Export, ExportFormat, ExportStatus, ExportVariant

log = logging.getLogger(__name__)


class ExportNotReady(DomainError):
    """The export has no file (yet, or because its render failed)."""

    code = "export_not_ready"
    http_status = 409


class ExportFileCorrupt(DomainError):
    """The stored file no longer matches the SHA-256 recorded when it was made."""

    code = "export_file_corrupt"
    http_status = 409


class CheckpointUnavailable(DomainError):
    """No signed checkpoint can cover the case (its chain does not verify)."""

    code = "checkpoint_unavailable"
    http_status = 409


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise ValidationFailed(
            f"Unknown {field.replace('_', ' ')} {value!r}: use one of {', '.join(choices.values)}.",
            field=field,
        )
    return value


@validated
def request_export(
    *,
    actor: User,
    case: Case,
    format: str = ExportFormat.PDF,
    variant: str = ExportVariant.FULL,
    communications: str = CommunicationsMode.FULL,
) -> Export:
    """Ask for an export of ``case``. Guarantees: ``actor`` may export the
    case (NotFound when they may not see it, NotPermitted when they may not
    export it); the options are known values (ValidationFailed otherwise,
    nothing written); the Export row and its ``export_requested`` event
    (internal) are written together; the render is queued on commit (run
    at once when Celery is eager)."""
    format = _choice(format or ExportFormat.PDF, ExportFormat, "format")
    variant = _choice(variant or ExportVariant.FULL, ExportVariant, "variant")
    communications = _choice(
        communications or CommunicationsMode.FULL, CommunicationsMode, "communications"
    )
    with locked_case(case, actor=actor, action=Action.EXPORT, stage_checked=False) as locked:
        export = Export.objects.create(
            case=locked,
            requested_by=actor,
            requested_at=now(),
            format=format,
            variant=variant,
            communications=communications,
            request_seq=locked.ledger_seq + 1,
        )
        event = append_event(
            case=locked,
            kind=EventKind.EXPORT_REQUESTED,
            actor=actor,
            payload={
                "export_id": export.pk,
                "format": format,
                "variant": variant,
                "communications": communications,
            },
            internal=True,
        )
        if event.seq != export.request_seq:  # the lock makes this impossible
            raise RuntimeError("export request event out of order")
        audit.record(audit.Kind.EXPORT, user=actor, case=locked.reference, export_id=export.pk,
                     format=format, variant=variant)  # fmt: skip
        transaction.on_commit(lambda: _queue_render(export.pk))
    return export


def _queue_render(export_id: int) -> None:
    from .tasks import render_export

    render_export.delay(export_id)


def _covering_checkpoint(case: Case) -> Checkpoint:
    """The latest checkpoint if it lists the case at its current head, else
    a new one (which verifies the changed chains first)."""
    entry = [case.reference, case.ledger_seq, case.ledger_head]
    latest = Checkpoint.objects.order_by("-seq").first()
    if latest is not None and entry in latest.entries:
        return latest
    result = write_checkpoint()
    cp = result.checkpoint or Checkpoint.objects.order_by("-seq").first()
    if cp is None or entry not in cp.entries:
        problems = "; ".join(p for p in result.problems if p.startswith(case.reference))
        raise CheckpointUnavailable(
            f"No signed checkpoint can cover {case.reference} at event #{case.ledger_seq}: "
            f"its ledger does not verify ({problems or 'see verify_ledger'})."
        )
    return cp


def _set(export_id: int, **values: Any) -> None:
    Export.objects.filter(pk=export_id).update(**values)


def _sign(data: bytes) -> tuple[bytes, bool]:
    """Signed with PAdES when exports.signing is there and configured: B-T
    (an RFC 3161 signature timestamp) with a TSA, B-B when there is none or
    it is down (logged; the export is never held up by the TSA)."""
    try:
        from . import signing
    except ImportError:
        return data, False
    if not signing.signing_configured():
        return data, False
    signed, _timestamped = signing.sign_export_pdf(data)
    return signed, True


def export_storage():
    return storages["default"]


def produce(
    *, case: Case, variant: str, communications: str, format: str, progress=None, split=None
) -> tuple[bytes, dict[str, Any], int | None, bool]:
    """Build and render one export of ``case`` as it is now (no Export row):
    (bytes, bundle, pages, signed). The command line and ``run_export`` use it."""
    from .render import render_pdf

    progress = progress or (lambda pct: None)
    case = Case.objects.select_related("vendor", "policy", "assignee", "follows_up").get(pk=case.pk)
    checkpoint = _covering_checkpoint(case)
    bundle = build_bundle(
        case=case,
        variant=variant,
        communications=communications,
        generated_at=now(),
        checkpoint=checkpoint,
        upto=case.ledger_seq,
    )
    progress(10)
    if format == ExportFormat.JSON:
        return bundle_bytes(bundle), bundle, None, False
    result = render_pdf(bundle, progress=progress, split=split)
    data, signed = _sign(result.data)
    return data, bundle, result.pages, signed


@validated
def run_export(*, export_id: int) -> Export:
    """Render export ``export_id`` (queued or interrupted) and store it.
    Never raises for a failed render: the row says ``failed`` and why.
    A finished or failed export is left as it is."""
    export = Export.objects.select_related("case").filter(pk=export_id).first()
    if export is None:
        raise NotFound("No such export.")
    if export.status in (ExportStatus.DONE, ExportStatus.FAILED):
        return export
    _set(export_id, status=ExportStatus.RUNNING, started_at=now(), progress=1, error="")
    try:
        data, bundle, pages, signed = produce(
            case=export.case,
            variant=export.variant,
            communications=export.communications,
            format=export.format,
            progress=lambda pct: _set(export_id, progress=max(1, min(pct, 99))),
        )
        digest = sha256_hex(data)
        name = f"exports/{export.case.reference}/{export.pk}-{digest[:16]}.{export.format}"
        stored = export_storage().save(name, ContentFile(data))
        from .bundle import generated_at_of

        _set(
            export_id,
            status=ExportStatus.DONE,
            progress=100,
            finished_at=now(),
            file_name=stored,
            sha256=digest,
            size=len(data),
            pages=pages,
            signed=signed,
            generated_at=generated_at_of(bundle),
            chain_seq=bundle["chain"]["seq"],
            chain_head=bundle["chain"]["head"] or "",
        )
    except Exception as exc:  # every failure is recorded, none is lost
        log.exception("export %s of %s failed", export_id, export.case.reference)
        reason = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
        _set(export_id, status=ExportStatus.FAILED, finished_at=now(), error=reason[:2000])
    export.refresh_from_db()
    return export


@validated
def record_download(*, actor: User, export: Export) -> tuple[Export, bytes]:
    """Record that ``actor`` downloads ``export`` (event ``export_downloaded``,
    internal) and return its bytes. Raises NotFound/NotPermitted as
    ``request_export`` does, ExportNotReady for an export without a file,
    ExportFileCorrupt when the stored file's SHA-256 differs from the one
    recorded (nothing is recorded then)."""
    if not isinstance(export, Export) or export.pk is None:
        raise ValidationFailed("The export must be a saved export.", field="export")
    with locked_case(export.case, actor=actor, action=Action.EXPORT, stage_checked=False) as locked:
        fresh = Export.objects.filter(pk=export.pk, case=locked).first()
        if fresh is None:
            raise NotFound("No such export.")
        if not fresh.is_ready:
            raise ExportNotReady(
                f"Export #{fresh.pk} has no file: it is {fresh.get_status_display().lower()}."
            )
        with export_storage().open(fresh.file_name, "rb") as f:
            data = f.read()
        if sha256_hex(data) != fresh.sha256:
            raise ExportFileCorrupt(
                f"The stored file of export #{fresh.pk} no longer matches its SHA-256; "
                "it is not served. Request a new export."
            )
        append_event(
            case=locked,
            kind=EventKind.EXPORT_DOWNLOADED,
            actor=actor,
            payload={"export_id": fresh.pk, "sha256": fresh.sha256, "format": fresh.format},
            internal=True,
        )
        audit.record(audit.Kind.DOWNLOAD, user=actor, case=locked.reference, export_id=fresh.pk,
                     sha256=fresh.sha256)  # fmt: skip
    return fresh, data
