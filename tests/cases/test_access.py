"""The access module: visible_cases and can, for every kind of actor."""

import pytest
from django.contrib.auth.models import AnonymousUser

from disclosure.accounts.services import add_membership
from disclosure.cases import access, transitions
from disclosure.cases.access import Action, available_actions, can, visible_cases
from disclosure.cases.selectors import case_list
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotFound, NotPermitted
from tests.factories import UserFactory, make_case

pytestmark = pytest.mark.django_db

STAFF = ["analyst", "lead", "legal", "admin_user"]


@pytest.fixture
def cases(analyst, lead, vendor, other_vendor):
    """One case per stage for our vendor, plus a notified case of another vendor."""
    ours = {s: make_case(s, actor=analyst, lead=lead, vendor=vendor) for s in Stage}
    theirs = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=other_vendor)
    return ours, theirs


def test_anonymous_sees_nothing_and_may_do_nothing(cases):
    ours, theirs = cases
    anon = AnonymousUser()
    assert not visible_cases(anon).exists()
    for case in [*ours.values(), theirs]:
        assert not can(anon, Action.VIEW, case)
        assert not any(can(anon, a, case) for a in transitions.TRANSITIONS)
    assert not can(anon, Action.OPEN_CASE)


def test_user_without_membership_sees_nothing(cases, outsider):
    ours, _ = cases
    assert not visible_cases(outsider).exists()
    assert not can(outsider, Action.VIEW, ours[Stage.PUBLISHED])


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_every_case(request, cases, role):
    user = request.getfixturevalue(role)
    ours, theirs = cases
    assert set(visible_cases(user)) == {*ours.values(), theirs}
    assert all(
        can(user, Action.VIEW, c) and can(user, Action.VIEW_INTERNAL, c)
        for c in [*ours.values(), theirs]
    )


def test_vendor_contact_sees_own_cases_from_notification_on(cases, vendor_contact):
    ours, theirs = cases
    expected = {c for s, c in ours.items() if s != Stage.FOUND}
    assert set(visible_cases(vendor_contact)) == expected
    assert not can(vendor_contact, Action.VIEW, ours[Stage.FOUND])
    assert not can(vendor_contact, Action.VIEW, theirs)
    for case in expected:
        assert can(vendor_contact, Action.VIEW, case)
        assert not can(vendor_contact, Action.VIEW_INTERNAL, case)
        assert not can(vendor_contact, Action.EXPORT, case)


def test_other_vendor_sees_only_their_own(cases, other_vendor_contact):
    ours, theirs = cases
    assert set(visible_cases(other_vendor_contact)) == {theirs}
    assert not any(can(other_vendor_contact, Action.VIEW, c) for c in ours.values())
    assert not any(
        can(other_vendor_contact, a, ours[Stage.VENDOR_NOTIFIED]) for a in transitions.TRANSITIONS
    )


def test_inactive_user_loses_access(cases, analyst):
    analyst.is_active = False
    analyst.save()
    user = type(analyst).objects.get(pk=analyst.pk)
    assert not visible_cases(user).exists()


def test_superuser_without_membership_counts_as_admin(cases):
    root = UserFactory(is_superuser=True, is_staff=True)
    ours, _ = cases
    assert access.role_on(root, ours[Stage.FOUND]) == "admin"
    assert access.can_administer(root)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("analyst", False), ("lead", True), ("legal", True), ("admin_user", True)],
)
def test_export_is_for_legal_lead_and_admin(request, cases, role, allowed):
    user = request.getfixturevalue(role)
    assert can(user, Action.EXPORT, cases[0][Stage.PUBLISHED]) is allowed


@pytest.mark.parametrize("role", ["analyst", "lead", "admin_user"])
def test_case_workers_may_open_cases(request, role):
    assert can(request.getfixturevalue(role), Action.OPEN_CASE)


def test_legal_and_vendors_may_not_open_cases(legal, vendor_contact):
    assert not can(legal, Action.OPEN_CASE)
    assert not can(vendor_contact, Action.OPEN_CASE)


def test_only_admins_may_administer(analyst, admin_user, vendor_contact):
    analyst.is_staff = True  # is_staff alone is not enough
    assert not access.can_administer(analyst)
    assert access.can_administer(admin_user)
    vendor_contact.is_staff = True
    assert not access.can_administer(vendor_contact)


def test_available_actions_combine_role_and_stage(cases, analyst, lead, vendor_contact):
    notified = cases[0][Stage.VENDOR_NOTIFIED]
    names = {t.action for t in available_actions(analyst, notified)}
    assert "secure" in names and "notify_vendor" not in names and "close" not in names
    assert "publish" not in names  # before secured only a lead may override
    assert "publish" in {t.action for t in available_actions(lead, notified)}
    vendor_names = {t.action for t in available_actions(vendor_contact, notified)}
    assert vendor_names == {
        "secure",
        "acknowledge",
        "log_communication",
        "attach_evidence",
        "file_dispute",
    }
    closed = cases[0][Stage.CLOSED]
    assert "attach_evidence" not in {t.action for t in available_actions(analyst, closed)}


def test_highest_staff_role_wins_and_membership_changes_apply(firm, vendor):
    user = UserFactory()
    add_membership(user=user, organization=firm, role="legal")
    assert access.role_on(user, None) == "legal"
    add_membership(user=user, organization=firm, role="lead")
    assert access.role_on(user, None) == "lead"


def test_access_checks_cost_no_queries_once_known(
    cases, vendor_contact, lead, django_assert_num_queries
):
    """Once the memberships are known, and the cases selected as the
    selectors do (with their deletion attestation, which the countersign and
    deletion preconditions read), no access question costs a query."""
    all_cases = list(case_list(lead))
    assert len(all_cases) == len(Stage) + 1
    for user in (vendor_contact, lead):
        can(user, Action.VIEW, all_cases[0])  # loads the memberships once
    with django_assert_num_queries(0):
        for case in all_cases:
            for user in (vendor_contact, lead):
                can(user, Action.VIEW, case)
                available_actions(user, case)


def test_available_actions_offer_a_skipped_milestone_after_publication(analyst, lead, vendor):
    from disclosure.cases import services
    from disclosure.core.timeutils import now

    case = make_case(Stage.SECURED, actor=analyst, vendor=vendor)
    case = services.publish(
        actor=lead, case=case, occurred_at=now(), url="https://firm.example/a", title="Advisory"
    )
    names = {t.action for t in available_actions(analyst, case)}
    assert "record_deletion" in names and "secure" not in names


# --- require: 404 for a case the user may not see, 403 for one they see ------


@pytest.mark.parametrize(
    ("fixture", "stage"),
    [
        ("other_vendor_contact", Stage.VENDOR_NOTIFIED),
        ("outsider", Stage.VENDOR_NOTIFIED),
        ("anonymous", Stage.VENDOR_NOTIFIED),
        ("vendor_contact", Stage.FOUND),  # not yet notified: not theirs to see
    ],
)
def test_require_on_a_case_not_visible_is_not_found_and_names_nothing(
    fixture, stage, request, cases
):
    user = AnonymousUser() if fixture == "anonymous" else request.getfixturevalue(fixture)
    case = cases[0][stage]
    for action in ("close", "secure", Action.VIEW):
        with pytest.raises(NotFound) as exc:
            access.require(user, action, case)
        assert exc.value.http_status == 404
        assert case.reference not in exc.value.message
        assert "close" not in exc.value.message.lower()


@pytest.mark.parametrize(
    ("fixture", "action"),
    [("vendor_contact", "close"), ("legal", "secure"), ("analyst", "close")],
)
def test_require_on_a_visible_case_is_not_permitted(fixture, action, request, cases):
    case = cases[0][Stage.SECURED]
    with pytest.raises(NotPermitted) as exc:
        access.require(request.getfixturevalue(fixture), action, case)
    assert exc.value.http_status == 403
    assert case.reference in exc.value.message


def test_require_passes_when_allowed_and_open_case_is_not_permitted(cases, analyst, legal):
    access.require(analyst, "secure", cases[0][Stage.VENDOR_NOTIFIED])
    access.require(analyst, Action.OPEN_CASE)
    with pytest.raises(NotPermitted, match="open case"):
        access.require(legal, Action.OPEN_CASE)


# --- admin flags on a vendor contact grant nothing (issue 15, finding 12) ------


@pytest.fixture
def flagged_contact(vendor_contact):
    """A contact of ours whose row says superuser and staff (written behind
    the model's back, as an old row or a raw SQL edit would be)."""
    type(vendor_contact).objects.filter(pk=vendor_contact.pk).update(
        is_superuser=True, is_staff=True
    )
    return type(vendor_contact).objects.get(pk=vendor_contact.pk)


def test_admin_flags_on_a_vendor_contact_give_no_staff_role(cases, flagged_contact, analyst):
    ours, theirs = cases
    theirs_found = make_case(Stage.FOUND, actor=analyst, vendor=theirs.vendor)
    assert access.role_on(flagged_contact, theirs_found) is None
    assert not access.can_use_staff_ui(flagged_contact)
    assert not access.can_administer(flagged_contact)
    assert access.can_use_portal(flagged_contact)
    assert not can(flagged_contact, Action.VIEW, theirs_found)
    assert not can(flagged_contact, "set_legal_hold", theirs_found)
    assert not can(flagged_contact, Action.VIEW, ours[Stage.FOUND])
    assert can(flagged_contact, Action.VIEW, ours[Stage.VENDOR_NOTIFIED])
    assert set(visible_cases(flagged_contact)) == {c for s, c in ours.items() if s != Stage.FOUND}


@pytest.mark.parametrize(
    ("actor", "staff_page", "api_hold"),
    [
        ("anonymous", 302, 401),
        ("other_vendor_contact", 404, 404),
        ("vendor_contact", 404, 404),  # the case's vendor, flagged: still a contact
        ("analyst", 200, 403),
        ("legal", 200, 201),
    ],
)
def test_staff_ui_and_api_on_an_unnotified_case_by_actor(
    request, analyst, vendor, actor, staff_page, api_hold
):
    from django.test import Client
    from rest_framework.test import APIClient

    from disclosure.tokens import services as tokens

    case = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    web, api = Client(), APIClient()
    if actor != "anonymous":
        user = request.getfixturevalue(actor)
        if actor.endswith("vendor_contact"):
            type(user).objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
            user.refresh_from_db()
        web.force_login(user)
        secret = tokens.create_token(user=user, name="t", scope="read_write", days=1).secret
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert web.get(f"/cases/{case.reference}/").status_code == staff_page
    r = api.post(
        f"/api/v1/cases/{case.reference}/actions/set_legal_hold/",
        {"on": True, "reason": "Litigation"},
        format="json",
    )
    assert r.status_code == api_hold, r.content
    case.refresh_from_db()
    assert case.legal_hold is (api_hold == 201)
