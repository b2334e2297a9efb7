"""python manage.py verify_export FILE [--trust CA.pem] [--ledger-key HEX]
[--allow-unsigned]: the standalone verifier (disclosure/exports/verifier.py,
which is also scripts/verify_export.py) run as a command, with its exit
status (0 VERIFIED, 6 intact but not authenticated: see the verifier)."""

from django.core.management.base import BaseCommand, CommandError

from disclosure.exports import verifier


class Command(BaseCommand):
    help = (
        "Verify an exported PDF: the signature covers the whole file and is valid, the attached "
        "chain recomputes to the printed head, and the ledger checkpoint's signature and the "
        "case's inclusion proof hold. VERIFIED only when the signer chains to a --trust CA and "
        "the checkpoint's key is pinned by --ledger-key or covered by that trusted signature. "
        "Exit status: 0 verified, 1 unreadable, 2 signature, 3 chain, 4 untrusted signer, "
        "5 checkpoint, 6 intact but not authenticated (a missing anchor, named)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="the exported PDF")
        parser.add_argument("--trust", metavar="CA.pem", help="the signer must chain to this CA")
        parser.add_argument(
            "--allow-unsigned",
            action="store_true",
            help="accept an export without signature (as intact, not authenticated)",
        )
        parser.add_argument(
            "--ledger-key",
            action="append",
            default=[],
            metavar="HEX",
            help="the checkpoint must be signed by this Ed25519 public key (repeatable; "
            "manage.py ledger_public_key prints the deployment's)",
        )
        parser.add_argument(
            "--tsa-trust",
            metavar="CA.pem",
            help="the RFC 3161 timestamps' TSA must chain to this CA (their times are trusted)",
        )

    def handle(self, *args, file, trust, allow_unsigned, ledger_key, **options) -> None:
        code = verifier.run(
            file,
            trust=trust,
            allow_unsigned=allow_unsigned,
            ledger_keys=ledger_key,
            out=self.stdout,
            tsa_trust=options.get("tsa_trust"),
        )
        if code:
            raise CommandError(f"{file}: not verified ({verifier.MEANING[code]})", returncode=code)
