"""The issuer's keys (instance folder or environment), rotation, did:key and did:web, and `flask credentials`."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta

import pytest

from lms.config import ConfigError
from lms.credentials import keys, proof
from lms.credentials.issuer import Issuer, did_document_path, did_web_for, issuer_from_settings
from lms.credentials.keystore import NoIssuerKey, create_key, key_folder, load_keyring
from tests.conftest import make_settings
from tests.credentials.test_proof import SIGNED_AT, sample_credential


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_no_key_says_how_to_make_one(tmp_path):
    with pytest.raises(NoIssuerKey, match="flask credentials keygen"):
        load_keyring(tmp_path)


def test_a_created_key_is_private_to_its_owner_and_rotation_keeps_the_old_one(tmp_path):
    first = create_key(tmp_path, datetime(2026, 1, 1, tzinfo=UTC))
    folder = key_folder(tmp_path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()] == [0o600]
    second = create_key(tmp_path, datetime(2026, 6, 1, tzinfo=UTC))
    ring = load_keyring(tmp_path)
    assert ring.current.multikey == second.multikey
    assert [k.multikey for k in ring.retired] == [first.multikey]
    assert not list(folder.glob(".*"))  # no temporary file left behind


def test_a_key_from_the_environment_is_current_and_the_folders_keys_retire(tmp_path):
    stored = create_key(tmp_path)
    given = keys.generate_private_key()
    pem = keys.private_key_to_pem(given).decode().replace("\n", "\\n")  # one line, as env files hold it
    elsewhere = keys.public_multikey(keys.generate_private_key().public_key())
    ring = load_keyring(tmp_path, pem, (elsewhere,))
    assert ring.current.multikey == keys.public_multikey(given.public_key())
    assert [k.multikey for k in ring.retired] == [stored.multikey, elsewhere]
    assert ring.retired[1].private_key is None


@pytest.mark.parametrize("env_key, retired, message", [
    ("not a key", (), "LMS_ISSUER_KEY: not an unencrypted PEM"),
    (None, ("z6MkNope",), "LMS_ISSUER_RETIRED_KEYS"),
])
def test_bad_keys_in_the_environment_name_the_variable(tmp_path, env_key, retired, message):
    create_key(tmp_path)
    with pytest.raises(keys.KeyFormatError, match=message):
        load_keyring(tmp_path, env_key, retired)


def test_a_damaged_key_file_is_named(tmp_path):
    create_key(tmp_path)
    (key_folder(tmp_path) / "20990101T000000000000Z-broken.pem").write_text("garbage")
    with pytest.raises(keys.KeyFormatError, match="broken.pem"):
        load_keyring(tmp_path)


@pytest.mark.parametrize("url, did, path", [
    ("https://learn.example.org", "did:web:learn.example.org", "/.well-known/did.json"),
    ("https://learn.example.org:8443/", "did:web:learn.example.org%3A8443", "/.well-known/did.json"),
    ("https://example.edu/skills/lms", "did:web:example.edu:skills:lms", "/skills/lms/did.json"),
])
def test_did_web_names_the_public_host(url, did, path):
    assert did_web_for(url) == did
    assert did_document_path(url) == path


def test_did_web_credentials_signed_before_a_rotation_still_verify(tmp_path):
    create_key(tmp_path, datetime.now(UTC) - timedelta(days=400))
    before = Issuer("web", "https://learn.example.org", load_keyring(tmp_path))
    old = proof.sign(sample_credential(before.id), before.keyring.current.private_key,
                     before.verification_method(), SIGNED_AT)
    create_key(tmp_path)
    after = Issuer("web", "https://learn.example.org", load_keyring(tmp_path))
    new = proof.sign(sample_credential(after.id), after.keyring.current.private_key,
                     after.verification_method(), SIGNED_AT)
    assert before.id == after.id == "did:web:learn.example.org"
    document = after.did_document()
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == [
        after.keyring.current.multikey, before.keyring.current.multikey]
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]
    assert proof.verify(old, after.resolve).verified and proof.verify(new, after.resolve).verified
    # A key the DID document does not list, and someone else's did:web, are not trusted.
    stranger = keys.generate_private_key()
    forged = proof.sign(sample_credential(after.id), stranger,
                        f"did:web:learn.example.org#{keys.public_multikey(stranger.public_key())}", SIGNED_AT)
    assert "has no key" in proof.verify(forged, after.resolve).errors[0]
    elsewhere = proof.sign(sample_credential("did:web:other.example"), stranger, "did:web:other.example#k", SIGNED_AT)
    assert "not this platform's DID" in proof.verify(elsewhere, after.resolve).errors[0]


def test_an_unknown_issuer_did_method_is_a_clear_config_error(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("LMS_ISSUER_DID", "ethr")
    with pytest.raises(ConfigError, match="LMS_ISSUER_DID must be one of key, web"):
        make_settings(tmp_path, database_url)


def test_keygen_creates_refuses_twice_rotates_and_lists(app):
    settings = app.config["LMS_SETTINGS"]
    first = _run(app, "credentials", "keygen")
    assert first.exit_code == 0 and "issuer: did:key:z6Mk" in first.output
    again = _run(app, "credentials", "keygen")
    assert again.exit_code == 1 and "pass --rotate" in again.output
    assert len(list(key_folder(settings.instance_dir).glob("*.pem"))) == 1
    rotated = _run(app, "credentials", "keygen", "--rotate")
    assert rotated.exit_code == 0
    listing = _run(app, "credentials", "keys").output.splitlines()
    assert listing[0].startswith("issuer: did:key:") and listing[1].startswith("current\tz6Mk")
    assert listing[2].startswith("retired\tz6Mk")
    assert issuer_from_settings(settings).keyring.current.multikey in listing[1]
    printed = _run(app, "credentials", "keygen", "--print")
    assert printed.output.startswith("-----BEGIN PRIVATE KEY-----")
    assert len(list(key_folder(settings.instance_dir).glob("*.pem"))) == 2  # --print stores nothing


def test_keys_without_a_key_says_how_to_make_one(app):
    result = _run(app, "credentials", "keys")
    assert result.exit_code == 1 and "flask credentials keygen" in result.output
