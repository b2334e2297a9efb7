"""The routine check of stored evidence: every blob re-hashed once a pass.

A pass is ``settings.EVIDENCE_CHECK_PASS_HOURS`` hourly slices (a week by
default). Slice ``i`` holds the blobs whose SHA-256, read as a number, falls
in the ``i``-th of that many equal ranges; SHA-256 spreads blobs evenly, so
each hourly run reads about 1/N of the stored bytes, and a run needs no
state: the hour decides the slice. Every referenced blob is thus re-hashed
once per pass (a run that did not happen leaves its slice to the next
pass; ``verify_evidence --all`` reads everything at once). Failures and
recoveries go through ``evidence.integrity`` (alarm, ledger event, mail).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from disclosure.core.timeutils import now

from . import integrity
from .models import EvidenceFile

_PREFIX = 8  # hex digits of the SHA-256 that place a blob in a slice
_SPACE = 16**_PREFIX


@dataclass
class CheckResult:
    slice: int
    slices: int
    blobs: int = 0
    bytes: int = 0
    failed: list[str] = field(default_factory=list)  # SHA-256 of blobs that did not match
    restored: int = 0  # alarms closed


def slice_of(at: datetime, slices: int) -> int:
    """The slice the hourly run at ``at`` checks."""
    return int(at.timestamp() // 3600) % slices


def slice_bounds(index: int, slices: int) -> tuple[str, str | None]:
    """The SHA-256 range [low, high) of slice ``index``; high None for the last."""
    if not 0 <= index < slices:
        raise ValueError(f"slice {index} of {slices}")
    low = f"{index * _SPACE // slices:0{_PREFIX}x}"
    high = None if index == slices - 1 else f"{(index + 1) * _SPACE // slices:0{_PREFIX}x}"
    return low, high


def check_slice(index: int, slices: int) -> CheckResult:
    """Re-hash every stored blob of slice ``index`` of ``slices`` that an
    unpurged evidence file references; alarm those that do not match, close the
    alarms of those that match again."""
    low, high = slice_bounds(index, slices)
    # Purged files have no content any more (evidence.retention).
    rows = EvidenceFile.objects.filter(sha256__gte=low, purged_at=None)
    if high is not None:
        rows = rows.filter(sha256__lt=high)
    result = CheckResult(index, slices)
    sizes = dict(rows.order_by("sha256").values_list("sha256", "size").distinct())
    for sha256, size in sorted(sizes.items()):
        found = integrity.hash_blob(sha256)
        result.blobs += 1
        result.bytes += size
        if found != sha256:
            result.failed.append(sha256)
            integrity.record_failure(
                mismatch=integrity.Mismatch(sha256, found), detected_by="check"
            )
        elif integrity.has_open_alarm(sha256):
            result.restored += integrity.record_intact(sha256=sha256, detected_by="check")
    return result


def check_current_slice(at: datetime | None = None) -> CheckResult:
    """The hourly run: the slice that the hour ``at`` (default now) names."""
    slices = settings.EVIDENCE_CHECK_PASS_HOURS
    return check_slice(slice_of(at or now(), slices), slices)


def check_all() -> CheckResult:
    """Every stored blob at once (one slice of one)."""
    return check_slice(0, 1)
