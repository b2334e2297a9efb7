"""python manage.py ledger_checkpoint [--force]: write a signed checkpoint now."""

from django.core.management.base import BaseCommand

from disclosure.ledger.checkpoints import anchor_path, write_checkpoint


class Command(BaseCommand):
    help = (
        "Verify every chain that changed since the last checkpoint, then write a signed "
        "checkpoint of every case's head to the database and the anchor directory. "
        "Exit status 1 when a chain did not verify (it keeps its last checkpointed head)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="write one even when no chain changed"
        )

    def handle(self, *args, force: bool, **options) -> None:
        result = write_checkpoint(force=force)
        for problem in result.problems:
            self.stderr.write(self.style.ERROR(problem))
        cp = result.checkpoint
        if cp is None:
            self.stdout.write("no chain changed since the last checkpoint; nothing written")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"checkpoint #{cp.seq}: {cp.case_count} cases, {cp.event_count} events, "
                    f"root {cp.root}, written to {anchor_path(cp.seq)} "
                    f"({result.verified_cases} changed chains verified)"
                )
            )
        if result.problems:
            raise SystemExit(1)
