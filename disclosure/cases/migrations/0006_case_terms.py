"""The disclosure terms a case runs under, on the case and in its ledger
(cases.terms).

Cases opened before this migration recorded no terms: their deadlines were
read from the policy row as it is now. Each gets, through its chain, one
``policy_terms_changed`` event by the system (from none to its policy's
terms as they stand at the upgrade, with a note saying so), and its row the
same terms, so that from here on every case's deadlines are vouched for. The
event is appended as ``ledger.services.append_event`` would: next seq, the
previous hash, the state digest of the row it leaves, and the row's head.

A case whose row no longer matches its ledger (its head, or the state digest
its last event recorded, in the shape before terms) is left alone: building
on it would vouch for the falsified row. verify_ledger reports it, as before,
and also that it has no recorded terms. The ledger is append-only, so the
reverse migration removes the columns only and leaves the events (a later
re-run skips cases whose terms are recorded).

The state is computed by today's ``cases.state``; a state column that a
later migration adds does not exist yet when this one runs, and is read as
the default it will be added with (which every row then holds).
"""

from django.db import migrations, models

NOTE = (
    "Terms recorded on upgrade: the policy's terms as they stood when each case's "
    "terms were first kept in its ledger."
)


def _later_columns(Case, columns):
    """The ``columns`` a later migration adds, with the default each gets."""
    from disclosure.cases.models import Case as LiveCase

    have = {f.attname for f in Case._meta.concrete_fields}
    fields = {f.attname: f for f in LiveCase._meta.concrete_fields}
    return {c: fields[c].get_default() for c in columns if c not in have}


def record_terms(apps, schema_editor):
    from disclosure.accounts.selectors import actor_snapshot
    from disclosure.cases.state import STATE_COLUMNS, row_state, state_digest
    from disclosure.cases.terms import TERMS_FIELDS, policy_terms, terms_columns
    from disclosure.core.timeutils import now
    from disclosure.ledger.chain import GENESIS, compute_hash, event_body

    Case = apps.get_model("cases", "Case")
    Policy = apps.get_model("cases", "DisclosurePolicy")
    CaseEvent = apps.get_model("ledger", "CaseEvent")
    policies = {p.pk: p for p in Policy.objects.all()}
    system = actor_snapshot(None)
    later = _later_columns(Case, STATE_COLUMNS)
    columns = [c for c in STATE_COLUMNS if c not in later]
    pending = Case.objects.filter(terms_business_days__isnull=True).order_by("pk")
    for pk in list(pending.values_list("pk", flat=True)):
        row = (
            Case.objects.select_for_update()
            .filter(pk=pk)
            .values("reference", "ledger_seq", "ledger_head", *columns)
            .get()
        )
        row.update(later)
        last = (
            CaseEvent.objects.filter(case_id=pk)
            .order_by("-seq")
            .values_list("seq", "hash", "state")
            .first()
        )
        seq, head, digest = last or (0, GENESIS, None)
        before = row_state(row)
        del before["terms"]  # the state's shape before terms were kept
        if (row["ledger_seq"], row["ledger_head"]) != (seq, head) or digest != state_digest(before):
            continue
        policy = policies[row["policy_id"]]
        terms = policy_terms(policy)
        row.update(terms_columns(terms))
        at = now()
        payload = {
            "policy": {"id": policy.pk, "name": policy.name},
            "from": None,
            "to": terms,
            "changed": list(TERMS_FIELDS),
            "note": NOTE,
        }
        state = state_digest(row_state(row))
        body = event_body(
            case_reference=row["reference"],
            seq=seq + 1,
            kind="policy_terms_changed",
            occurred_at=at,
            recorded_at=at,
            actor=system,
            payload=payload,
            internal=False,
            state=state,
            prev_hash=head,
        )
        event_hash = compute_hash(body)
        CaseEvent.objects.create(
            case_id=pk,
            seq=seq + 1,
            kind="policy_terms_changed",
            occurred_at=at,
            recorded_at=at,
            actor_id=None,
            actor_snapshot=system,
            payload=payload,
            internal=False,
            v=body["v"],
            state=state,
            prev_hash=head,
            hash=event_hash,
        )
        Case.objects.filter(pk=pk).update(
            ledger_seq=seq + 1, ledger_head=event_hash, **terms_columns(terms)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_sort_rank_indexes"),
        ("ledger", "0003_export_and_download_kinds"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="terms_business_days",
            field=models.BooleanField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="terms_days_to_acknowledge",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="terms_days_to_publish",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="terms_days_to_secure",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="case",
            name="terms_grace_days",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(record_terms, migrations.RunPython.noop),
    ]
