"""Fixtures of the signing and verification tests: the firm's development
certificates, an attacker's, and a signed export of a real case.

Import them into a test module with
``from tests.exports.signing_fixtures import *  # noqa: F403``.
"""

import pytest

from disclosure.exports import signing, verifier
from tests.exports import support_signing as support
from tests.factories import make_case

__all__ = ["export", "firm_certs", "mallory_certs", "trust"]


@pytest.fixture(scope="module")
def firm_certs(tmp_path_factory):
    return signing.make_development_certificates(
        tmp_path_factory.mktemp("firm"), organization="Research Firm"
    )


@pytest.fixture(scope="module")
def mallory_certs(tmp_path_factory):
    return signing.make_development_certificates(
        tmp_path_factory.mktemp("mallory"), organization="Mallory"
    )


@pytest.fixture
def trust(firm_certs):
    return verifier.load_trust(str(firm_certs.ca_cert))


@pytest.fixture
def export(db, settings, firm_certs, analyst, vendor):
    """A signed full export of a secured case among three checkpointed cases
    (so the inclusion proof has a path), and its bundle."""
    make_case("found", actor=analyst, vendor=vendor, title="Other one")
    case = make_case("secured", actor=analyst, vendor=vendor, title="Blob container é")
    make_case("vendor_notified", actor=analyst, vendor=vendor, title="Other two")
    bundle = support.full_bundle(case)
    support.use_certificates(settings, firm_certs)
    return signing.sign_pdf(support.render(bundle)), bundle
