"""How the tampering tests change the database behind the application's back."""

from io import StringIO

from django.core.management import call_command
from django.db import connection

from disclosure.cases.models import Case
from disclosure.cases.state import case_state, state_digest
from disclosure.ledger.chain import GENESIS, compute_hash, event_body
from disclosure.ledger.models import CaseEvent


def sql(statement: str, params: list | None = None) -> None:
    """Run raw SQL with PostgreSQL's append-only triggers switched off (as a
    database superuser could; the application's role cannot)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def forge_event(case: Case, kind: str, payload: dict, *, actor=None, state: str | None = None):
    """Append a correctly hashed event by plain INSERT (anyone who can insert
    can compute SHA-256), without touching the case row."""
    last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    at = last.recorded_at if last else case.found_at
    snapshot = dict(last.actor_snapshot) if last else {"id": None}
    actor_id = snapshot.get("id")
    state = state or (last.state if last else "")
    body = event_body(
        case_reference=case.reference, seq=seq, kind=kind, occurred_at=at, recorded_at=at,
        actor=snapshot, payload=payload, internal=False, state=state, prev_hash=prev,
    )  # fmt: skip
    return CaseEvent.objects.create(
        case=case, seq=seq, kind=kind, occurred_at=at, recorded_at=at, actor_id=actor_id,
        actor_snapshot=snapshot, payload=payload, internal=False, state=state, prev_hash=prev,
        hash=compute_hash(body),
    )  # fmt: skip


def rewrite_chain(case: Case, change) -> None:
    """Rewrite a whole chain consistently: ``change(event)`` edits each event
    in memory, every hash and the case row's head and state are recomputed."""
    events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
    sql("DELETE FROM ledger_caseevent WHERE case_id = %s", [case.pk])
    case.refresh_from_db()
    prev = GENESIS
    for event in events:
        change(event, case)
        event.pk = None
        event.prev_hash = prev
        if event is events[-1]:
            event.state = state_digest(case_state(case))
        body = event_body(
            case_reference=case.reference, seq=event.seq, kind=event.kind,
            occurred_at=event.occurred_at, recorded_at=event.recorded_at,
            actor=event.actor_snapshot, payload=event.payload, internal=event.internal,
            state=event.state, prev_hash=prev,
        )  # fmt: skip
        event.hash = prev = compute_hash(body)
        event.save(force_insert=True)
    Case.objects.filter(pk=case.pk).update(
        ledger_head=prev, **{f: getattr(case, f) for f in ("vendor_notified_at",)}
    )


def run_command(*args: str) -> tuple[int, str]:
    """Run a management command; its exit status and everything it printed."""
    out = StringIO()
    try:
        call_command(*args, stdout=out, stderr=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def run_verify(*args: str) -> tuple[int, str]:
    """``manage.py verify_ledger ARGS``: exit status and output."""
    return run_command("verify_ledger", *args)
