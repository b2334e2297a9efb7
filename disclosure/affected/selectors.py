"""Reads of a case's affected list: counts with their methods, imports,
organizations, count claims side by side, the top domains. What a vendor
may see of them is declared in cases.visibility (VENDOR_AFFECTED_LEVELS)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet, Sum

from disclosure.cases import access
from disclosure.cases.models import Case
from disclosure.cases.visibility import VENDOR_AFFECTED_LEVELS

from .counting import EXTRA, METHOD_VERSION, METHODS
from .models import (
    AffectedHost,
    AffectedImport,
    AffectedList,
    AffectedOrganization,
    Dispute,
    Level,
    OrganizationDomain,
)


@dataclass(frozen=True)
class LevelCount:
    level: str
    label: str
    value: int | None
    method: str
    firm: Dispute | None
    vendor: Dispute | None


@dataclass(frozen=True)
class Counts:
    """A case's counts as ``user`` may see them, each level with its method
    and the open (or latest) count dispute holding each party's claim."""

    levels: list[LevelCount]
    extra: dict[str, int]
    counted_at: datetime | None
    suffix_list: str
    method_version: int
    minimise_emails: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "counted_at": self.counted_at,
            "suffix_list": self.suffix_list,
            "method_version": self.method_version,
            "minimise_emails": self.minimise_emails,
            "levels": [
                {
                    "level": lc.level, "label": lc.label, "count": lc.value, "method": lc.method,
                    "firm_claim": _claim(lc.firm, "firm"),
                    "vendor_claim": _claim(lc.vendor, "vendor"),
                }
                for lc in self.levels
            ],
            **self.extra,
        }  # fmt: skip


def _claim(d: Dispute | None, party: str) -> dict[str, Any] | None:
    if d is None or getattr(d, f"{party}_count") is None:
        return None
    return {
        "dispute_id": d.pk,
        "count": getattr(d, f"{party}_count"),
        "method": getattr(d, f"{party}_count_method"),
        "note": getattr(d, f"{party}_position"),
        "at": getattr(d, f"{party}_count_at"),
        "basis": getattr(d, f"{party}_count_basis"),
    }


def counts_for(user, case: Case) -> Counts:
    """The case's counts and claims as ``user`` may see them (staff: every
    level; the case's vendor: VENDOR_AFFECTED_LEVELS). Two queries. The
    caller has checked that ``user`` sees ``case``."""
    row = AffectedList.objects.filter(case=case).first()
    stored = row.counts if row else {}
    internal = access.can(user, access.Action.VIEW_INTERNAL, case)
    levels = [lv for lv in Level if internal or lv.value in VENDOR_AFFECTED_LEVELS]
    claims: dict[str, Dispute] = {}
    rows = Dispute.objects.filter(case=case).exclude(count_level="").order_by("filed_at", "id")
    for d in rows:  # the latest dispute of each level, open ones first
        current = claims.get(d.count_level)
        if current is None or d.is_open or not current.is_open:
            claims[d.count_level] = d
    return Counts(
        levels=[
            LevelCount(
                lv.value,
                lv.label,
                stored.get(lv.value),
                METHODS[lv.value],
                claims.get(lv.value),
                claims.get(lv.value),
            )
            for lv in levels
        ],
        extra={k: stored[k] for k in EXTRA if k in stored and internal},
        counted_at=row.counted_at if row else None,
        suffix_list=row.suffix_list if row else "",
        method_version=METHOD_VERSION,
        minimise_emails=bool(row and row.minimise_emails),
    )


def affected_list(case: Case) -> AffectedList | None:
    return AffectedList.objects.filter(case=case).first()


def imports_for(case: Case) -> QuerySet[AffectedImport]:
    """The case's imports, newest first, with who started them."""
    return AffectedImport.objects.filter(case=case).select_related("created_by")


def organizations_for(case: Case) -> QuerySet[AffectedOrganization]:
    """The case's organizations with their domains and who told them."""
    return (
        AffectedOrganization.objects.filter(case=case)
        .select_related("told_by")
        .prefetch_related(
            Prefetch("domains", queryset=OrganizationDomain.objects.order_by("domain"))
        )
    )


def top_domains(case: Case, limit: int = 50) -> list[dict[str, Any]]:
    """The registrable domains with the most records (ungrouped and not
    free-mail first: the candidates for grouping)."""
    grouped = OrganizationDomain.objects.filter(case=case).values("domain")
    rows = (
        AffectedHost.objects.filter(case=case, free_mail=False)
        .exclude(domain="")
        .exclude(domain__in=grouped)
        .values("domain")
        .annotate(records=Sum("mentions"))
        .order_by("-records", "domain")[:limit]
    )
    return list(rows)
