"""Signing and checking eddsa-rdfc-2022 proofs, against our verifier and the independent one."""

from __future__ import annotations

import copy
import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from lms.credentials import contexts, keys, proof
from tests.credentials.shared_verifier import verify_documents

SIGNED_AT = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


def sample_credential(issuer: str, learner: str = "Zoë Ångström-Nakamura 中村", *, skills=("Data analysis", "Python"),
                      results=(("Module 1 quiz", "92"), ("Capstone: analysis", "3")), evidence=2) -> dict:
    """A realistic OB 3.0 credential: several alignments, result descriptions, results and evidence
    entries, so canonicalization has many blank nodes to label."""
    descriptions = [{"id": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}", "type": ["ResultDescription"],
                     "name": name, "resultType": "Percent"} for name, _ in results]
    return {
        "@context": [contexts.VC_V2, contexts.OB_V3],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer, "type": ["Profile"], "name": "Skillmark Académie"},
        "validFrom": "2026-12-06T13:00:00Z",
        "name": "Data analysis with Python",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": learner,
            "achievement": {
                "id": "https://skillmark.example/achievements/python-data",
                "type": ["Achievement"],
                "name": "Data analysis with Python",
                "description": "Clean, explore and report on real data — «vraiment».",
                "criteria": {"narrative": "Pass every module quiz\nand the capstone (rubric: 3/4 or better)."},
                "alignment": [{"type": ["Alignment"], "targetName": skill,
                               "targetUrl": f"https://example.org/skills/{i}"} for i, skill in enumerate(skills)],
                "resultDescription": descriptions,
            },
            "result": [{"type": ["Result"], "resultDescription": d["id"], "value": value}
                       for d, (_, value) in zip(descriptions, results, strict=True)],
        },
        "evidence": [{"type": ["Evidence"], "name": f"Evidence {i}", "narrative": "Submitted\tand reviewed"}
                     for i in range(evidence)],
    }


@pytest.fixture(scope="module")
def issuer_key():
    return keys.generate_private_key()


def _sign(document: dict, key) -> dict:
    return proof.sign(document, key, keys.did_key_verification_method(key.public_key()), SIGNED_AT)


def _ours(document: dict) -> proof.ProofCheck:
    return proof.verify(document, keys.public_key_from_did_key)


VARIED = {
    "non-ASCII name": dict(learner="Zoë Ångström-Nakamura 中村"),
    "right-to-left and emoji": dict(learner="مريم الحسيني 🎓"),
    "quotes and backslashes": dict(learner='Dana "DJ" O\'Neil \\ Ltd'),
    "one of everything": dict(skills=("Solo",), results=(("Only quiz", "100"),), evidence=1),
    "many blank nodes": dict(skills=tuple(f"Skill {i}" for i in range(6)),
                             results=tuple((f"Quiz {i}", str(50 + i)) for i in range(5)), evidence=4),
}


def test_signed_credentials_verify_here_and_in_the_independent_verifier(issuer_key, tmp_path):
    issuer = keys.did_key(issuer_key.public_key())
    documents = [_sign(sample_credential(issuer, **variant), issuer_key) for variant in VARIED.values()]
    for name, document in zip(VARIED, documents, strict=True):
        assert _ours(document).verified, name
        assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    for name, verdict in zip(VARIED, verify_documents(tmp_path, documents), strict=True):
        assert verdict.verified and verdict.proof_verified, (name, verdict.errors)


def test_a_tampered_credential_fails_in_both_verifiers(issuer_key, tmp_path):
    issuer = keys.did_key(issuer_key.public_key())
    signed = _sign(sample_credential(issuer), issuer_key)
    renamed = copy.deepcopy(signed)
    renamed["credentialSubject"]["name"] = "Mallory"
    regraded = copy.deepcopy(signed)
    regraded["credentialSubject"]["result"][0]["value"] = "100"
    other_key = keys.generate_private_key()
    wrong_key = copy.deepcopy(signed)
    wrong_key["proof"][0]["verificationMethod"] = keys.did_key_verification_method(other_key.public_key())
    for document in (renamed, regraded, wrong_key):
        check = _ours(document)
        assert not check.verified and "does not match" in check.errors[0]
    for verdict in verify_documents(tmp_path, [renamed, regraded, wrong_key], schema=False):
        assert not verdict.verified and not verdict.proof_verified


def test_a_single_proof_object_verifies_like_an_array(issuer_key):
    signed = _sign(sample_credential(keys.did_key(issuer_key.public_key())), issuer_key)
    single = {**signed, "proof": signed["proof"][0]}
    assert _ours(single).verified


def test_control_characters_are_refused_with_where_they_are(issuer_key):
    document = sample_credential(keys.did_key(issuer_key.public_key()), learner="Bell\x07 Ringer")
    with pytest.raises(proof.ProofError, match=r"credentialSubject\.name"):
        _sign(document, issuer_key)
    signed = _sign(sample_credential(keys.did_key(issuer_key.public_key())), issuer_key)
    signed["name"] = "Form\x0cfeed"
    assert "control characters" in _ours(signed).errors[0]


def test_an_unknown_context_is_refused_not_fetched(issuer_key):
    document = sample_credential(keys.did_key(issuer_key.public_key()))
    document["@context"].append("https://attacker.example/context.json")
    with pytest.raises(proof.ProofError, match="attacker.example.*never fetched"):
        _sign(document, issuer_key)


@pytest.mark.parametrize("bad", [
    {},
    {"proof": []},
    {"proof": [{"type": "Ed25519Signature2020"}]},
    {"proof": [{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "authentication",
                "verificationMethod": "did:key:z6Mk#z6Mk", "proofValue": "z1"}]},
    {"proof": [{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod",
                "verificationMethod": "did:key:zNotAKey#zNotAKey", "proofValue": "zabc"}]},
    {"proof": [{"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod",
                "verificationMethod": "did:web:example.org#key-1", "proofValue": "not multibase"}]},
])
def test_malformed_proofs_get_a_reason_never_an_exception(bad):
    check = _ours({"@context": [contexts.VC_V2], **bad})
    assert not check.verified and check.errors and all(e.endswith(".") for e in check.errors)


def test_keys_round_trip_and_bad_keys_say_what_is_wrong(issuer_key):
    public = issuer_key.public_key()
    multikey = keys.public_multikey(public)
    assert multikey.startswith("z6Mk")
    assert keys.public_multikey(keys.public_key_from_multikey(multikey)) == multikey
    assert keys.public_multikey(keys.public_key_from_did_key(keys.did_key_verification_method(public))) == multikey
    pem = keys.private_key_to_pem(issuer_key)
    assert keys.public_multikey(keys.private_key_from_pem(pem).public_key()) == multikey
    with pytest.raises(keys.KeyFormatError, match="fragment must repeat"):
        keys.public_key_from_did_key(f"did:key:{multikey}#z6MkOther")
    with pytest.raises(keys.KeyFormatError, match="not an Ed25519 Multikey"):
        keys.public_key_from_multikey(keys.multibase_base58(b"\x12\x00" + bytes(32)))
    with pytest.raises(keys.KeyFormatError, match="not an unencrypted PEM"):
        keys.private_key_from_pem(b"-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n")
    p256 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(keys.KeyFormatError, match="not an Ed25519 key"):
        keys.private_key_from_pem(p256)


# The bundled contexts are what every signature is computed over: a changed file changes them all.
PINNED = {
    "credentials-v2.jsonld": "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f",
    "ob-v3p0-context-3.0.3.jsonld": "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
    "did-v1.jsonld": "62c1054bf404d6dd3a4b26b64f830fd72095f6a26edc4469908c94351352ce5f",
    "multikey-v1.jsonld": "8e6bad2e5b4f0721906a4dcc2f7a894b1215cf9a47014c71e286423860642ff0",
}


def test_the_bundled_contexts_are_the_pinned_files():
    folder = Path(contexts.__file__).parent
    assert set(contexts.FILES.values()) == set(PINNED)
    for name, digest in PINNED.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
