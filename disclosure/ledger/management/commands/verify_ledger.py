"""python manage.py verify_ledger [--deep] [REF ...]: recompute every hash chain
and compare it with the records it vouches for."""

from django.core.management.base import BaseCommand, CommandError

from disclosure.cases.models import Case
from disclosure.ledger.verify import verify_cases


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of every case (or the cases named), compare it with "
        "the communications, evidence files and deletion attestations it vouches for, "
        "and report the first broken link. Exit status 1 when any case is broken."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "references", nargs="*", metavar="REF", help="case references, e.g. DSC-2022-0001"
        )
        parser.add_argument(
            "--deep",
            action="store_true",
            help="also read every stored evidence file back and re-hash it",
        )

    def handle(self, *args, references: list[str], deep: bool, **options) -> None:
        if references:
            known = set(
                Case.objects.filter(reference__in=references).values_list("reference", flat=True)
            )
            missing = sorted(set(references) - known)
            if missing:
                raise CommandError(f"no such case: {', '.join(missing)}")
        broken = total = 0
        for report in verify_cases(references, deep=deep):
            total += 1
            if report.ok:
                head = report.head[:16] if report.head else "(no events)"
                self.stdout.write(
                    f"{report.reference}: intact, {report.events} events, head {head}"
                )
            else:
                broken += 1
                self.stdout.write(
                    self.style.ERROR(
                        f"{report.reference}: BROKEN at seq {report.broken_seq}: {report.problem} "
                        f"({report.events} events checked)"
                    )
                )
        if broken:
            self.stderr.write(self.style.ERROR(f"{broken} of {total} chains broken"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"all {total} chains intact"))
