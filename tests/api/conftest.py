"""API test fixtures: a client per actor, authenticated with a read-write
token of theirs (``as_``), and cases at each stage of the Contoso vendor."""

import base64

import pytest
from rest_framework.test import APIClient

from disclosure.tokens import services as tokens
from tests.factories import make_case


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


@pytest.fixture
def api():
    """An anonymous client."""
    return APIClient()


@pytest.fixture
def as_():
    """``as_(user, scope="read_write")``: a client with a new token of ``user``."""

    made = []

    def make(user, scope="read_write", days=30):
        made.append(user)
        name = f"test token {len(made)}"
        issued = tokens.create_token(user=user, name=name, scope=scope, days=days)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
        client.token = issued.token
        return client

    return make


@pytest.fixture
def case_at(analyst, lead, vendor):
    """``case_at(stage)``: a Contoso case walked to ``stage``."""

    def make(stage="found", **kwargs):
        return make_case(stage, actor=analyst, vendor=vendor, lead=lead, **kwargs)

    return make
