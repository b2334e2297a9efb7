"""What the case test modules share: the snapshot a refused action must leave
unchanged, the ledger's event kinds, and a valid override justification."""

from disclosure.cases.models import Case
from disclosure.cases.stages import STAGE_TIME_FIELD
from disclosure.comms.models import Communication
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger.models import CaseEvent

JUSTIFICATION = "The vendor has not answered for 120 days; users must protect themselves."


def state(case: Case) -> dict:
    """Everything a refused action must leave as it was."""
    case.refresh_from_db()
    return {
        "stage": case.stage,
        **{f: getattr(case, f) for f in STAGE_TIME_FIELD.values()},
        "vendor_acknowledged_at": case.vendor_acknowledged_at,
        "details": {
            f: getattr(case, f)
            for f in ("title", "summary", "vendor_id", "severity", "data_from", "data_to")
        },
        "legal_hold": case.legal_hold,
        "close_reason": case.close_reason,
        "publication": (case.publication_url, case.publication_title),
        "events": list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True)),
        "communications": Communication.objects.filter(case=case).count(),
        "evidence": EvidenceFile.objects.filter(case=case).count(),
        "attestations": DeletionAttestation.objects.filter(case=case).count(),
        "follow_ups": Case.objects.filter(follows_up=case).count(),
    }


def kinds(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("kind", flat=True))
