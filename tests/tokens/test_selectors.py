"""tokens.selectors.token_by_hash: the token, its user and the user's access
principal from one statement, whatever the user's memberships."""

import pytest

from disclosure.accounts.models import Role
from disclosure.accounts.selectors import Principal, principal_for
from disclosure.tokens import selectors, services
from disclosure.tokens.models import ApiToken
from tests.factories import FirmFactory, MembershipFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.django_db


def _lookup(user, django_assert_num_queries):
    issued = services.create_token(user=user, name="t", scope="read_write", days=10)
    with django_assert_num_queries(1):
        token = selectors.token_by_hash(services.hash_token(issued.secret))
        principal = principal_for(token.user)  # known already: no second query
    return issued, token, principal


def test_the_token_and_its_user_are_the_rows_the_orm_loads(analyst, django_assert_num_queries):
    issued, token, _ = _lookup(analyst, django_assert_num_queries)
    loaded = ApiToken.objects.select_related("user").get(pk=issued.token.pk)
    for f in ApiToken._meta.concrete_fields:
        assert getattr(token, f.attname) == getattr(loaded, f.attname), f.attname
    for f in type(analyst)._meta.concrete_fields:
        assert getattr(token.user, f.attname) == getattr(loaded.user, f.attname), f.attname
    assert token.user_id == analyst.pk and token.user.is_active is True
    assert token.revoked_at is None and token.expires_at.tzinfo is not None


def test_a_staff_member_of_the_firm(django_assert_num_queries):
    firm = FirmFactory(name="Research Firm")
    lead = MembershipFactory(organization=firm, role="lead").user
    _, _, principal = _lookup(lead, django_assert_num_queries)
    assert principal == Principal(Role.LEAD, frozenset(), "Research Firm", ())


def test_a_contact_of_two_vendors(django_assert_num_queries):
    contoso, fabrikam = VendorFactory(name="Contoso"), VendorFactory(name="Fabrikam")
    contact = MembershipFactory(organization=fabrikam, role="vendor_contact").user
    MembershipFactory(user=contact, organization=contoso, role="vendor_contact")
    _, _, principal = _lookup(contact, django_assert_num_queries)
    assert principal == Principal(
        None,
        frozenset({contoso.pk, fabrikam.pk}),
        None,
        ((contoso.pk, "Contoso"), (fabrikam.pk, "Fabrikam")),
    )


def test_a_user_without_memberships_has_no_role_unless_superuser(django_assert_num_queries):
    nobody = UserFactory()
    _, _, principal = _lookup(nobody, django_assert_num_queries)
    assert principal == Principal(None, frozenset(), None, ())
    owner = UserFactory(is_superuser=True)
    _, _, principal = _lookup(owner, django_assert_num_queries)
    assert principal == Principal(Role.ADMIN, frozenset(), None, ())


def test_an_unknown_hash_is_none(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert selectors.token_by_hash("0" * 64) is None


def test_authenticate_takes_one_query_and_sees_every_change_at_once(
    analyst, vendor, django_assert_num_queries
):
    """Nothing is kept between lookups: a membership added, a role changed
    or a user deactivated counts from the next request."""
    issued = services.create_token(user=analyst, name="t")
    services.authenticate(issued.secret)  # the first use is recorded (a second query)
    with django_assert_num_queries(1):
        token = services.authenticate(issued.secret)
        assert principal_for(token.user).staff_role == Role.ANALYST
    analyst.memberships.update(role="lead")
    assert principal_for(services.authenticate(issued.secret).user).staff_role == Role.LEAD
    analyst.memberships.all().delete()
    assert principal_for(services.authenticate(issued.secret).user).staff_role is None
    type(analyst).objects.filter(pk=analyst.pk).update(is_active=False)
    with pytest.raises(services.TokenRefused):
        services.authenticate(issued.secret)


def _sql_of(callable_, using="default") -> list[str]:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connections[using]) as ctx:
        callable_()
    return [q["sql"] for q in ctx.captured_queries]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_statement_is_prepared_once_per_session():
    from django.db import connection

    user = MembershipFactory(organization=FirmFactory(), role="analyst").user
    key = services.hash_token(services.create_token(user=user, name="t").secret)
    connection.close()  # a new session
    first = _sql_of(lambda: selectors.token_by_hash(key))
    assert len(first) == 1 and first[0].startswith("PREPARE disclosure_token_")
    assert "; EXECUTE disclosure_token_" in first[0]  # one round trip: prepared and run
    again = _sql_of(lambda: selectors.token_by_hash(key))
    assert len(again) == 1 and again[0].startswith("EXECUTE disclosure_token_")
    assert selectors.token_by_hash(key).user_id == user.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_session_that_lost_or_already_has_the_statement_is_mended():
    """As behind a pooler that resets or shares sessions (outside a transaction)."""
    from django.db import connection

    user = MembershipFactory(organization=FirmFactory(), role="lead").user
    key = services.hash_token(services.create_token(user=user, name="t").secret)
    assert selectors.token_by_hash(key).user_id == user.pk
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # the session lost it
    assert [s.split()[0] for s in _sql_of(lambda: selectors.token_by_hash(key))] == [
        "EXECUTE",
        "PREPARE",
    ]
    selectors._PREPARED_ON.discard(connection.connection)  # the session has it unknown to us
    assert [s.split()[0] for s in _sql_of(lambda: selectors.token_by_hash(key))] == [
        "PREPARE",
        "EXECUTE",
    ]
    assert principal_for(selectors.token_by_hash(key).user).staff_role == Role.LEAD


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_lost_statement_is_an_error_not_a_wrong_answer():
    from django.db import DatabaseError, connection, transaction

    user = MembershipFactory(organization=FirmFactory(), role="lead").user
    key = services.hash_token(services.create_token(user=user, name="t").secret)
    selectors.token_by_hash(key)
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        selectors.token_by_hash(key)
    assert selectors.token_by_hash(key).user_id == user.pk  # mended after it


def test_without_prepared_statements_the_plain_statement_runs(settings, analyst):
    settings.DISCLOSURE_DB_PREPARED_STATEMENTS = False
    key = services.hash_token(services.create_token(user=analyst, name="t").secret)
    (sql,) = _sql_of(lambda: selectors.token_by_hash(key))
    assert sql.startswith("SELECT ")
    assert selectors.token_by_hash(key).user_id == analyst.pk
