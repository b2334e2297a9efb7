"""python manage.py ledger_public_key [--as-arguments]: the deployment's
ledger public keys, to hand to whoever verifies an export
(``verify_export FILE --ledger-key HEX``)."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from disclosure.ledger.signing import published_public_keys


class Command(BaseCommand):
    help = (
        "Print the Ed25519 public keys of this deployment's ledger checkpoints, one per line "
        "in hex as verify_export --ledger-key takes them: the signing key first, then the "
        "older keys still trusted after a rotation (DISCLOSURE_LEDGER_TRUSTED_KEYS). Hand "
        "them to verifiers through a channel other than the export itself."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--as-arguments",
            action="store_true",
            help="print them on one line as verify_export options: --ledger-key HEX ...",
        )

    def handle(self, *args, as_arguments: bool, **options) -> None:
        try:
            keys = published_public_keys()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        if not keys:
            raise CommandError(
                "no ledger public key is configured (set DISCLOSURE_LEDGER_SIGNING_KEY, or list "
                "public keys in DISCLOSURE_LEDGER_TRUSTED_KEYS)"
            )
        if as_arguments:
            self.stdout.write(" ".join(f"--ledger-key {key}" for key in keys))
        else:
            self.stdout.write("\n".join(keys))
