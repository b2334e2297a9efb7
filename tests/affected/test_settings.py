"""The affected list's two switches (e-mail minimisation, verified lookups):
each change an internal ``affected_settings_changed`` event in the case's
lock; a change to the position it has already is refused, writing nothing;
the staff page's forms."""

import io

import pytest
from django.urls import reverse

from disclosure.affected import counting, grouping, importing
from disclosure.affected.models import AffectedList, AffectedRecord
from disclosure.affected.parsing import email_hash
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotFound, NotPermitted, TransitionNotAllowed
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db

CSV = b"email\nAlice@Contoso.com\nbob@contoso.de\n"


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def settings_events(case):
    return list(
        CaseEvent.objects.filter(case=case, kind=EventKind.AFFECTED_SETTINGS_CHANGED).order_by(
            "seq"
        )
    )


def test_minimisation_on_erases_addresses_and_is_an_internal_event(analyst, case):
    batch = importing.start_import(actor=analyst, case=case, file=io.BytesIO(CSV),
                                   filename="l.csv", format="csv")  # fmt: skip
    assert importing.run_import(batch_id=batch.pk).status == "done"
    grouping.set_minimisation(actor=analyst, case=case, minimise_emails=True)
    assert not AffectedRecord.objects.filter(case=case).exclude(email="").exists()
    [event] = settings_events(case)
    assert event.internal is True
    assert event.payload == {"setting": "minimise_emails", "value": True, "erased": 2}
    grouping.set_minimisation(actor=analyst, case=case, minimise_emails=False)
    assert [e.payload for e in settings_events(case)][1] == {
        "setting": "minimise_emails",
        "value": False,
        "erased": 0,
    }
    assert verify_case(case).ok


def _import(analyst, case, data: bytes):
    batch = importing.start_import(actor=analyst, case=case, file=io.BytesIO(data),
                                   filename="l.csv", format="csv")  # fmt: skip
    return importing.run_import(batch_id=batch.pk)


def test_addresses_erased_keep_their_host_and_count_by_hash_from_then_on(analyst, case):
    _import(analyst, case, CSV)
    key = importing.hash_key()
    hashes = {email_hash(key, "alice@contoso.com"), email_hash(key, "bob@contoso.de")}
    grouping.set_minimisation(actor=analyst, case=case, minimise_emails=True)
    grouping.set_minimisation(actor=analyst, case=case, minimise_emails=False)
    assert sorted(AffectedRecord.objects.filter(case=case).values_list("email", "host")) == [
        ("", "contoso.com"), ("", "contoso.de"),
    ]  # fmt: skip
    assert set(AffectedRecord.objects.filter(case=case).values_list("email_hash", flat=True)) == (
        hashes
    )
    # The same two addresses again, written otherwise, and a new one: the
    # e-mail level tells them apart by hash, so they count once.
    assert _import(analyst, case, b"email\nalice@CONTOSO.com.\nBob@contoso.de\nc@x.org\n").rows == 3
    counts = AffectedList.objects.get(case=case).counts
    assert (counts["mentions"], counts["emails"], counts["hosts"]) == (5, 3, 3)
    assert counts == counting.recount_from_records(case.pk)


def test_lookup_switch_off_and_on(analyst, case):
    row = grouping.set_lookups_enabled(actor=analyst, case=case, enabled=False)
    assert row.lookups_enabled is False
    assert AffectedList.objects.get(case=case).lookups_enabled is False
    grouping.set_lookups_enabled(actor=analyst, case=case, enabled=True)
    assert AffectedList.objects.get(case=case).lookups_enabled is True
    events = settings_events(case)
    assert [(e.payload, e.internal) for e in events] == [
        ({"setting": "lookups_enabled", "value": False}, True),
        ({"setting": "lookups_enabled", "value": True}, True),
    ]
    assert verify_case(case).ok


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda a, c: grouping.set_lookups_enabled(actor=a, case=c, enabled=True),
         "Lookups are on already."),
        (lambda a, c: grouping.set_minimisation(actor=a, case=c, minimise_emails=False),
         "E-mail minimisation is off already."),
    ],
)  # fmt: skip
def test_a_change_to_the_same_position_is_refused_and_writes_nothing(analyst, case, call, message):
    before = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(TransitionNotAllowed, match=message):
        call(analyst, case)
    assert CaseEvent.objects.filter(case=case).count() == before


@pytest.mark.parametrize(
    ("who", "error"),
    [("legal", NotPermitted), ("vendor_contact", NotPermitted), ("other_vendor_contact", NotFound)],
)
def test_who_may_switch(request, case, who, error):
    actor = request.getfixturevalue(who)
    with pytest.raises(error):
        grouping.set_lookups_enabled(actor=actor, case=case, enabled=False)
    with pytest.raises(error):
        grouping.set_minimisation(actor=actor, case=case, minimise_emails=True)
    assert settings_events(case) == []


def test_vendor_never_sees_the_switch_events(analyst, vendor_contact, case):
    from disclosure.cases.selectors import events_for

    grouping.set_lookups_enabled(actor=analyst, case=case, enabled=False)
    kinds = {e.kind for e in events_for(vendor_contact, case)}
    assert EventKind.AFFECTED_SETTINGS_CHANGED not in kinds


def page(case, name):
    return reverse(f"staff:{name}", args=[case.reference])


def test_staff_page_toggles_lookups(client, analyst, legal, case):
    client.force_login(analyst)
    body = client.get(page(case, "case_affected")).content.decode()
    assert page(case, "case_affected_lookups") in body
    r = client.post(page(case, "case_affected_lookups"), {})  # unchecked: off
    assert r.status_code == 302
    assert AffectedList.objects.get(case=case).lookups_enabled is False
    again = client.post(page(case, "case_affected_lookups"), {})
    assert again.status_code == 400
    assert "Lookups are off already." in again.content.decode()
    r = client.post(page(case, "case_affected_lookups"), {"lookups_enabled": "on"})
    assert r.status_code == 302
    assert AffectedList.objects.get(case=case).lookups_enabled is True
    client.force_login(legal)
    assert client.post(page(case, "case_affected_lookups"), {}).status_code == 403
    assert AffectedList.objects.get(case=case).lookups_enabled is True


def test_lookup_toggle_access_matrix(client, request, case):
    assert client.post(page(case, "case_affected_lookups"), {}).status_code == 302  # sign in
    for who in ("vendor_contact", "other_vendor_contact"):
        client.force_login(request.getfixturevalue(who))
        assert client.post(page(case, "case_affected_lookups"), {}).status_code == 404
    assert not AffectedList.objects.filter(case=case, lookups_enabled=False).exists()
