"""Celery tasks of the ledger."""

import logging

from celery import shared_task

from .verify import verify_cases

log = logging.getLogger(__name__)


@shared_task(name="disclosure.ledger.tasks.verify_all_chains")
def verify_all_chains() -> dict:
    """Verify every chain; log and return the broken ones (run nightly by beat)."""
    broken = []
    total = 0
    for report in verify_cases():
        total += 1
        if not report.ok:
            log.error(
                "ledger chain broken: %s at seq %s: %s",
                report.reference,
                report.broken_seq,
                report.problem,
            )
            broken.append(
                {"reference": report.reference, "seq": report.broken_seq, "problem": report.problem}
            )
    return {"verified": total, "broken": broken}
