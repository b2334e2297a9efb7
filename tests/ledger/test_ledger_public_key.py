"""manage.py ledger_public_key: the deployment's ledger public keys, printed
in the form verify_export --ledger-key takes, to hand to verifiers."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from disclosure.ledger.checkpoints import write_checkpoint

# RFC 8032, section 7.1, test 1: an Ed25519 secret key and its public key.
RFC8032_PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n"
)
RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
OLDER = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"  # RFC 8032 test 2


def run(*args: str) -> str:
    out = StringIO()
    call_command("ledger_public_key", *args, stdout=out)
    return out.getvalue()


def test_prints_the_signing_key_as_hex(settings):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = RFC8032_PEM
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = []
    assert run() == RFC8032_PUBLIC + "\n"


def test_the_printed_key_is_the_one_that_signs_checkpoints(settings, db):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = RFC8032_PEM
    cp = write_checkpoint(force=True).checkpoint
    assert cp.public_key == RFC8032_PUBLIC
    assert run().split() == [RFC8032_PUBLIC]


def test_older_trusted_keys_follow_the_signing_key_once_each(settings):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = RFC8032_PEM
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = [OLDER.upper(), f" {OLDER} ", RFC8032_PUBLIC]
    assert run() == f"{RFC8032_PUBLIC}\n{OLDER}\n"
    assert run("--as-arguments") == f"--ledger-key {RFC8032_PUBLIC} --ledger-key {OLDER}\n"


def test_without_a_signing_key_in_production_the_trusted_keys_are_printed(settings):
    settings.DEBUG = False
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = ""
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = [OLDER]
    assert run() == f"{OLDER}\n"
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = []
    with pytest.raises(CommandError, match="no ledger public key is configured"):
        run()


@pytest.mark.parametrize("bad", ["abc", "zz" * 32, OLDER + "00"])
def test_a_malformed_trusted_key_is_refused(settings, bad):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = RFC8032_PEM
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = [bad]
    with pytest.raises(CommandError, match="DISCLOSURE_LEDGER_TRUSTED_KEYS"):
        run()
