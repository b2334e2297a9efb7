"""manage.py export_case REFERENCE -o FILE [--format pdf|json] [--variant full|vendor]

Writes the case's legal timeline export from the shell. With ``--as USER``
the export is requested as that user (access checked, ``export_requested``
and the stored Export row, exactly as from the case page) and rendered
now; without it, the operator's shell renders the case directly (no Export
row, nothing written to the ledger but the checkpoint that covers it).
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.accounts.models import User
from disclosure.cases.models import Case
from disclosure.core.errors import DomainError
from disclosure.exports import services
from disclosure.exports.models import CommunicationsMode, ExportFormat, ExportStatus, ExportVariant


class Command(BaseCommand):
    help = "Export a case's legal timeline to a PDF (PDF/A-3b, JSON attached) or JSON file."

    def add_arguments(self, parser):
        parser.add_argument("reference")
        parser.add_argument("-o", "--output", required=True, help="File to write ('-': stdout).")
        parser.add_argument("--format", choices=ExportFormat.values, default=ExportFormat.PDF)
        parser.add_argument("--variant", choices=ExportVariant.values, default=ExportVariant.FULL)
        parser.add_argument(
            "--communications", choices=CommunicationsMode.values, default=CommunicationsMode.FULL
        )
        parser.add_argument(
            "--as", dest="username", help="Request it as this user (access checked, logged)."
        )

    def handle(self, *args, **opts):
        case = Case.objects.filter(reference=opts["reference"]).first()
        if case is None:
            raise CommandError(f"No case {opts['reference']}.")
        try:
            if opts["username"]:
                data, sha256 = self._as_user(case, opts)
            else:
                data, _bundle, _pages, _signed = services.produce(
                    case=case,
                    variant=opts["variant"],
                    communications=opts["communications"],
                    format=opts["format"],
                )
                from disclosure.core.hashing import sha256_hex

                sha256 = sha256_hex(data)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["output"] == "-":
            sys.stdout.buffer.write(data)
        else:
            Path(opts["output"]).write_bytes(data)
            self.stderr.write(
                f"{case.reference}: {len(data):,} bytes written to {opts['output']} "
                f"(SHA-256 {sha256})"
            )

    def _as_user(self, case: Case, opts) -> tuple[bytes, str]:
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No user {opts['username']}.")
        export = services.request_export(
            actor=user,
            case=case,
            format=opts["format"],
            variant=opts["variant"],
            communications=opts["communications"],
        )
        export = services.run_export(export_id=export.pk)  # a no-op when eager ran it
        if export.status != ExportStatus.DONE:
            raise CommandError(f"Export #{export.pk} failed: {export.error}")
        export, data = services.record_download(actor=user, export=export)
        return data, export.sha256
