"""API tokens in the admin: listed without their secret, revocable, never
added or edited there."""

import pytest

from disclosure.tokens import services
from disclosure.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def test_admin_lists_and_revokes_tokens(client, admin_user, analyst):
    issued = services.create_token(user=analyst, name="scanner")
    client.force_login(admin_user)
    page = client.get("/admin/tokens/apitoken/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "scanner" in html and issued.token.prefix in html
    assert issued.secret not in html and issued.token.key_hash not in html
    assert client.get("/admin/tokens/apitoken/add/").status_code == 403
    r = client.post(
        "/admin/tokens/apitoken/",
        {"action": "revoke", "_selected_action": [issued.token.pk]},
        follow=True,
    )
    assert "1 token(s) revoked" in r.content.decode()
    token = ApiToken.objects.get()
    assert token.revoked_by == admin_user and token.revoked_at is not None


def test_findings_are_read_only_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/intake/finding/").status_code == 200
    assert client.get("/admin/intake/finding/add/").status_code == 403
