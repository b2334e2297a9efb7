"""python manage.py verify_ledger [--deep] [--checkpoint FILE] [--anchor-dir DIR] [REF ...]:
check the append-only guards, the checkpoints against the anchor directory,
every hash chain, the case rows and the records the chains vouch for."""

import os

from django.core.management.base import BaseCommand, CommandError

from disclosure.cases.models import Case
from disclosure.ledger.anchors import check_anchor_dir
from disclosure.ledger.checkpoints import load_checkpoint_file, verify_checkpoints
from disclosure.ledger.timestamps import verify_timestamps
from disclosure.ledger.verify import trigger_problems, verify_cases


class Command(BaseCommand):
    help = (
        "Check the signed checkpoints, recompute the hash chain of every case (or the "
        "cases named), check that each extends its checkpointed head and that the case "
        "row and the communications, evidence, attestations, disputes and escalations "
        "match the ledger. Exit status 1 when anything is broken."
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
        parser.add_argument(
            "--workers",
            type=int,
            default=min(2, os.cpu_count() or 1),
            help="processes that verify chunks of cases in parallel (default: %(default)s)",
        )
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="verify against this checkpoint file (a copy kept outside the database) "
            "instead of the latest checkpoint in the database",
        )
        parser.add_argument(
            "--anchor-dir",
            metavar="DIR",
            help="the anchor directory whose checkpoint files the database must hold "
            "(default: DISCLOSURE_ANCHOR_DIR)",
        )

    def handle(
        self,
        *args,
        references: list[str],
        deep: bool,
        checkpoint,
        workers: int,
        anchor_dir=None,
        **options,
    ) -> None:
        if references:
            known = set(
                Case.objects.filter(reference__in=references).values_list("reference", flat=True)
            )
            missing = sorted(set(references) - known)
            if missing:
                raise CommandError(f"no such case: {', '.join(missing)}")
        heads, problems = verify_checkpoints()
        problems = trigger_problems() + problems
        anchors = check_anchor_dir(anchor_dir)
        problems += anchors.problems
        for note in anchors.notes:
            self.stdout.write(f"note: {note}")
        if anchors.heads is not None:
            # The database lacks (or replaced) the newest anchored checkpoint:
            # the chains must still extend what it vouched for.
            heads = anchors.heads
        if checkpoint:
            heads, file_problems = load_checkpoint_file(checkpoint)
            problems += file_problems
        times = verify_timestamps(checkpoint)  # RFC 3161 tokens: trusted times
        problems += times.problems
        for problem in problems:
            self.stdout.write(self.style.ERROR(f"LEDGER: {problem}"))
        for line in times.lines:
            self.stdout.write(line)
        if heads is None:
            self.stdout.write("no checkpoint yet: chains are checked without one")
        broken = total = 0
        reports = verify_cases(references, deep=deep, checkpoint=heads, workers=max(1, workers))
        for report in reports:
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
        if broken or problems:
            self.stderr.write(
                self.style.ERROR(
                    f"{broken} of {total} chains broken, {len(problems)} other problems "
                    "(checkpoints, anchors, triggers)"
                )
            )
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"all {total} chains intact"))
