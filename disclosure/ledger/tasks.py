"""Celery tasks of the ledger (thin wrappers over verify and checkpoints)."""

import logging

from celery import shared_task

from .anchors import check_anchor_dir
from .checkpoints import verify_checkpoints, write_checkpoint
from .timestamps import stamp_missing, verify_timestamps
from .verify import trigger_problems, verify_cases

log = logging.getLogger(__name__)


@shared_task(name="disclosure.ledger.tasks.verify_all_chains")
def verify_all_chains() -> dict:
    """Verify the append-only guards, the checkpoints (against the anchor
    directory) and every chain against the latest one; log and return what
    is broken (run nightly by beat)."""
    heads, checkpoint_problems = verify_checkpoints()
    checkpoint_problems = trigger_problems() + checkpoint_problems
    anchors = check_anchor_dir()
    checkpoint_problems += anchors.problems
    if anchors.heads is not None:
        heads = anchors.heads
    checkpoint_problems += verify_timestamps().problems  # RFC 3161 tokens
    for problem in checkpoint_problems:
        log.error("ledger checkpoint: %s", problem)
    broken = []
    total = 0
    for report in verify_cases(checkpoint=heads):
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
    return {"verified": total, "broken": broken, "checkpoint_problems": checkpoint_problems}


@shared_task(name="disclosure.ledger.tasks.write_checkpoint")
def write_checkpoint_task() -> dict:
    """Write the hourly checkpoint (nothing when no chain changed)."""
    result = write_checkpoint()
    for problem in result.problems:
        log.error("ledger checkpoint: %s", problem)
    cp = result.checkpoint
    return {
        "checkpoint": cp.seq if cp else None,
        "root": cp.root if cp else None,
        "verified_cases": result.verified_cases,
        "problems": result.problems,
    }


@shared_task(name="disclosure.ledger.tasks.timestamp_checkpoints")
def timestamp_checkpoints_task() -> dict:
    """Ask the TSA again for every checkpoint still without an RFC 3161
    timestamp (the TSA was down when it was written). Nothing without a TSA."""
    result = stamp_missing()
    if result.error:
        log.warning("ledger timestamps: %s (%s still waiting)", result.error, result.missing)
    return {"stamped": result.stamped, "missing": result.missing, "error": result.error}
