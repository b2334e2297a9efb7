"""API tokens: issued once, stored hashed, named, scoped, expiring,
revocable (by their owner or an admin), with their last use recorded."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.tokens import selectors, services
from disclosure.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def test_the_secret_is_returned_once_and_only_its_hash_is_stored(analyst):
    issued = services.create_token(user=analyst, name="scanner", scope="read_write", days=30)
    assert issued.secret.startswith("dsc_") and len(issued.secret) >= 40
    row = ApiToken.objects.get()
    assert row.key_hash == services.hash_token(issued.secret)
    assert issued.secret not in {row.key_hash, row.prefix, row.name}
    assert issued.secret.startswith(row.prefix)
    assert row.scope == "read_write" and row.can_write
    assert timedelta(days=29, hours=23) < row.expires_at - now() <= timedelta(days=30)
    assert row.last_used_at is None and row.revoked_at is None


def test_two_tokens_never_share_a_secret(analyst):
    a = services.create_token(user=analyst, name="a")
    b = services.create_token(user=analyst, name="b")
    assert a.secret != b.secret
    assert a.token.scope == "read"  # read only unless asked


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "scope": "admin"}, "scope"),
        ({"name": "ok", "days": 0}, "days"),
        ({"name": "ok", "days": 367}, "days"),
        ({"name": "ok", "days": True}, "days"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(analyst, kwargs, field):
    with pytest.raises(ValidationFailed) as e:
        services.create_token(user=analyst, **kwargs)
    assert e.value.field == field
    assert not ApiToken.objects.exists()


def _unsaved_user():
    from disclosure.accounts.models import User

    return User(username="never-saved")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda a: services.create_token(user=None, name="ci"), "user"),
        (lambda a: services.create_token(user=_unsaved_user(), name="ci"), "user"),
        (lambda a: services.create_token(user=a, name="ci", bogus=1), "bogus"),
        (lambda a: services.create_token(name="ci"), "user"),
        (lambda a: services.create_token(user=a, name=None), "name"),
        (lambda a: services.create_token(user=a, name="ci", scope=["read"]), "scope"),
        (lambda a: services.revoke_token(actor=a, token_id="abc"), "token_id"),
        (lambda a: services.revoke_token(actor=a, token_id=2**70), "token_id"),
        (lambda a: services.revoke_token(actor=a, token_id=None), "token_id"),
        (lambda a: services.revoke_token(actor=a, token_id=1, force=True), "force"),
        (lambda a: services.revoke_token(actor=None, token_id=1), "actor"),
    ],
)
def test_malformed_calls_raise_domain_errors_not_raw_exceptions(analyst, call, field):
    """create_token(user=None) raised AttributeError, an unsaved user an
    IntegrityError or ValueError, revoke_token(token_id="abc") ValueError and
    an unknown keyword TypeError (finding 15.14)."""
    issued = services.create_token(user=analyst, name="kept")
    with pytest.raises(ValidationFailed) as exc:
        call(analyst)
    assert exc.value.field == field
    assert list(ApiToken.objects.values_list("pk", "revoked_at")) == [(issued.token.pk, None)]


def test_positional_arguments_are_refused(analyst):
    with pytest.raises(ValidationFailed, match="keyword arguments only"):
        services.create_token(analyst, "ci")  # type: ignore[misc]
    assert not ApiToken.objects.exists()


def test_names_are_unique_per_user(analyst, lead):
    services.create_token(user=analyst, name="ci")
    with pytest.raises(ValidationFailed, match="named 'ci' already"):
        services.create_token(user=analyst, name="ci")
    services.create_token(user=lead, name="ci")  # another user's name is no clash
    assert ApiToken.objects.count() == 2


def test_an_inactive_user_gets_no_token(analyst):
    analyst.is_active = False
    analyst.save()
    with pytest.raises(ValidationFailed):
        services.create_token(user=analyst, name="x")


def test_authenticate_returns_the_token_and_records_its_use_once_a_minute(analyst):
    issued = services.create_token(user=analyst, name="x")
    t0 = now()
    token = services.authenticate(issued.secret, at=t0)
    assert token.pk == issued.token.pk and token.user == analyst
    assert ApiToken.objects.get().last_used_at == t0
    services.authenticate(issued.secret, at=t0 + timedelta(seconds=30))
    assert ApiToken.objects.get().last_used_at == t0
    services.authenticate(issued.secret, at=t0 + timedelta(seconds=61))
    assert ApiToken.objects.get().last_used_at == t0 + timedelta(seconds=61)


def test_unknown_revoked_expired_and_inactive_are_refused(analyst, lead):
    with pytest.raises(services.TokenRefused) as e:
        services.authenticate("dsc_nothing")
    assert e.value.code == "token_invalid"

    revoked = services.create_token(user=analyst, name="revoked")
    services.revoke_token(actor=analyst, token_id=revoked.token.pk)
    with pytest.raises(services.TokenRefused) as e:
        services.authenticate(revoked.secret)
    assert e.value.code == "token_revoked"

    expiring = services.create_token(user=analyst, name="expiring", days=1)
    with pytest.raises(services.TokenRefused) as e:
        services.authenticate(expiring.secret, at=now() + timedelta(days=1, seconds=1))
    assert e.value.code == "token_expired"

    leaver = services.create_token(user=lead, name="leaver")
    lead.is_active = False
    lead.save()
    with pytest.raises(services.TokenRefused) as e:
        services.authenticate(leaver.secret)
    assert e.value.code == "token_invalid"


def test_owner_and_admin_may_revoke_others_may_not_know(analyst, lead, admin_user):
    mine = services.create_token(user=analyst, name="mine").token
    other = services.create_token(user=analyst, name="other").token
    with pytest.raises(NotFound):
        services.revoke_token(actor=lead, token_id=mine.pk)
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is None
    services.revoke_token(actor=analyst, token_id=mine.pk)
    revoked = services.revoke_token(actor=admin_user, token_id=other.pk)
    assert revoked.revoked_by == admin_user and revoked.revoked_at is not None
    with pytest.raises(NotPermitted, match="revoked already"):
        services.revoke_token(actor=analyst, token_id=mine.pk)


def test_who_lists_which_tokens(analyst, lead, admin_user, vendor_contact):
    a = services.create_token(user=analyst, name="a").token
    v = services.create_token(user=vendor_contact, name="v").token
    assert list(selectors.tokens_for(analyst)) == [a]
    assert list(selectors.tokens_for(vendor_contact)) == [v]
    assert list(selectors.tokens_for(lead)) == []
    assert set(selectors.tokens_for(admin_user)) == {a, v}


def test_the_command_prints_a_working_token(analyst):
    out = io.StringIO()
    call_command("create_api_token", analyst.username, "--name", "demo", "--scope",
                 "read_write", stdout=out)  # fmt: skip
    secret = out.getvalue().strip()
    assert services.authenticate(secret).user == analyst
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "nobody", "--name", "x")
    with pytest.raises(CommandError, match="already"):
        call_command("create_api_token", analyst.username, "--name", "demo")
