"""Building the OB 3.0 credential, status lists, and judging a credential from the document alone."""

from __future__ import annotations

import copy
import gzip
from datetime import UTC, datetime, timedelta

import pytest

from lms.credentials import keys, proof, status_list
from lms.credentials.document import (
    AchievementSpec,
    CredentialContent,
    EvidenceItem,
    IssuerProfile,
    LearnerResult,
    ResultSpec,
    RubricLevel,
    Skill,
    StatusEntry,
    build_credential,
    email_identity_hash,
)
from lms.credentials.verification import parse_document, verify_credential
from tests.credentials.shared_verifier import verify_documents

NOW = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)
LIST_URL = "https://learn.example.org/credentials/status/1"
LEVELS = (RubricLevel("https://learn.example.org/a/1/criteria/clean#1", "Beginning", "Some cleaning", 1),
          RubricLevel("https://learn.example.org/a/1/criteria/clean#2", "Proficient", "Tidy, documented", 2.5))
ACHIEVEMENT = AchievementSpec(
    id="https://learn.example.org/achievements/python-data/1",
    name="Data analysis with Python",
    description="Clean, explore and report on real data.",
    criteria="Pass the three module quizzes (70% or more) and the capstone, reviewed against its rubric.",
    image_url="https://learn.example.org/achievements/python-data/1/image.png",
    image_caption="Skillmark badge: data analysis",
    skills=(Skill("Data cleaning", "https://esco.example/skill/1", "ESCO", "S1.2"), Skill("pandas")),
    results=(ResultSpec("https://learn.example.org/a/1/quiz/m1", "Module 1 quiz", "Percent", required_value="70"),
             ResultSpec("https://learn.example.org/a/1/criteria/clean", "Capstone: data cleaning",
                        "RubricCriterionLevel", levels=LEVELS, required_level=LEVELS[1].id),
             ResultSpec("https://learn.example.org/a/1/capstone", "Capstone project", "Status")),
)


def _content(issuer_id: str, **changes) -> CredentialContent:
    values = dict(
        id="https://learn.example.org/credentials/3f9c1a7e-2b1d-4e55-9a0f-6d8e2c4b7a10",
        issuer=IssuerProfile(issuer_id, "Skillmark", "https://learn.example.org"),
        achievement=ACHIEVEMENT, learner_name="Zoë Ångström", learner_email="Zoe@Example.org",
        email_salt="c2FsdA", valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=365),
        results=(LearnerResult(ACHIEVEMENT.results[0].id, value="92"),
                 LearnerResult(ACHIEVEMENT.results[1].id, achieved_level=LEVELS[1].id),
                 LearnerResult(ACHIEVEMENT.results[2].id, status="Completed")),
        evidence=(EvidenceItem("Capstone: bike-share report", "Cleaned a year of trips; passed on version 2.",
                               "https://learn.example.org/shared/capstones/abc", "Capstone project"),),
        status=StatusEntry(LIST_URL, 4242),
    )
    values.update(changes)
    return CredentialContent(**values)


@pytest.fixture(scope="module")
def key():
    return keys.generate_private_key()


def _signed(document: dict, key) -> dict:
    return proof.sign(document, key, keys.did_key_verification_method(key.public_key()), NOW)


def _status_list(key, revoked: tuple[int, ...] = ()) -> dict:
    bits = status_list.empty_bitstring()
    for index in revoked:
        status_list.set_bit(bits, index)
    listing = status_list.status_list_credential(LIST_URL, keys.did_key(key.public_key()), bits, NOW)
    return _signed(listing, key)


def _verdict(document, key=None, revoked=(), now=NOW, listing=None):
    fetch = None
    if key is not None or listing is not None:
        served = listing or _status_list(key, revoked)

        def fetch(url):
            if url != LIST_URL:
                raise LookupError("no such list")
            return served
    return verify_credential(document, keys.public_key_from_did_key, fetch_status_list=fetch, now=now)


def test_a_built_credential_has_what_an_employer_needs_and_passes_both_verifiers(key, tmp_path):
    issuer = keys.did_key(key.public_key())
    credential = _signed(build_credential(_content(issuer)), key)
    subject = credential["credentialSubject"]
    assert subject["achievement"]["alignment"] == [{"type": ["Alignment"], "targetName": "Data cleaning",
                                                    "targetUrl": "https://esco.example/skill/1",
                                                    "targetFramework": "ESCO", "targetCode": "S1.2"}]
    assert subject["achievement"]["tag"] == ["pandas"]
    assert subject["identifier"][0]["identityHash"] == email_identity_hash("zoe@example.org", "c2FsdA")
    assert [r.get("value") or r.get("achievedLevel") or r.get("status") for r in subject["result"]] == [
        "92", LEVELS[1].id, "Completed"]
    assert subject["achievement"]["resultDescription"][1]["rubricCriterionLevel"][1]["points"] == "2.5"
    assert credential["credentialStatus"]["statusListIndex"] == "4242"
    assert credential["evidence"][0]["id"] == "https://learn.example.org/shared/capstones/abc"
    verdict = _verdict(credential, key)
    assert verdict.status == "valid", verdict.reasons
    [independent] = verify_documents(tmp_path, [credential], now="2026-12-06T13:00:00Z")
    assert independent.verified, independent.errors


def test_revoked_expired_and_not_yet_valid_credentials_say_so(key, tmp_path):
    issuer = keys.did_key(key.public_key())
    credential = _signed(build_credential(_content(issuer)), key)
    revoked = _verdict(credential, key, revoked=(4242,))
    assert revoked.status == "revoked" and "revoked by the issuer" in revoked.reasons[-1]
    assert _verdict(credential, key, revoked=(4241, 4243)).status == "valid"  # neighbours are not it
    expired = _verdict(credential, key, now=NOW + timedelta(days=400))
    assert expired.status == "expired" and "expired on 2027-12-06" in " ".join(expired.reasons)
    early = _verdict(credential, key, now=NOW - timedelta(days=30))
    assert early.status == "not yet valid"
    [independent] = verify_documents(tmp_path, [credential], schema=False, now="2028-01-01T00:00:00Z")
    assert not independent.verified and independent.proof_verified  # expired, not forged


def test_revocation_unknown_offline_or_with_a_forged_list(key):
    credential = _signed(build_credential(_content(keys.did_key(key.public_key()))), key)
    offline = _verdict(credential)
    assert offline.status == "status unknown" and offline.authentic
    forged = _status_list(keys.generate_private_key(), revoked=())
    verdict = _verdict(credential, listing=forged)
    assert verdict.status == "status unknown" and "not signed by the issuer" in verdict.reasons[-1]


def test_a_credential_signed_by_someone_else_than_its_issuer_is_invalid(key):
    other = keys.generate_private_key()
    credential = _signed(build_credential(_content(keys.did_key(other.public_key()))), key)
    verdict = _verdict(credential, key)
    assert verdict.status == "invalid" and "does not belong to the issuer" in " ".join(verdict.reasons)


def test_a_changed_grade_is_invalid(key):
    credential = _signed(build_credential(_content(keys.did_key(key.public_key()))), key)
    changed = copy.deepcopy(credential)
    changed["credentialSubject"]["result"][0]["value"] = "100"
    verdict = _verdict(changed, key)
    assert verdict.status == "invalid" and "does not match" in " ".join(verdict.reasons)


def test_control_characters_in_names_are_removed_before_signing(key):
    content = _content(keys.did_key(key.public_key()), learner_name="Zo\x00ë\x1b Å\r\nB")
    credential = _signed(build_credential(content), key)
    assert credential["credentialSubject"]["name"] == "Zoë Å\nB"
    assert _verdict(credential, key).status == "valid"


def test_results_must_match_the_achievements_descriptions(key):
    with pytest.raises(ValueError, match="descriptions the achievement does not have: urn:x"):
        build_credential(_content("did:key:z", results=(LearnerResult("urn:x", value="1"),)))


@pytest.mark.parametrize("pasted, message", [
    ("{not json", r"That is not JSON \(line 1, column 2"),
    ("[1, 2]", "a credential is a JSON object"),
    (b"\xff\xfe\x00binary", "not text"),
    ("x" * (1024 * 1024 + 1), "larger than any credential"),
])
def test_pasting_something_else_gets_a_message_that_says_what_to_do(pasted, message):
    with pytest.raises(ValueError, match=message):
        parse_document(pasted)


def test_a_json_object_that_is_not_a_credential_is_invalid_with_reasons():
    verdict = verify_credential({"hello": "world"}, keys.public_key_from_did_key, now=NOW)
    assert verdict.status == "invalid"
    assert "not a VC 2.0 credential" in verdict.reasons[0] and "no proof" in verdict.reasons[1]


def test_status_lists_round_trip_in_the_specified_bit_order():
    bits = status_list.empty_bitstring(10)
    assert len(bits) * 8 == status_list.MIN_ENTRIES  # never smaller than the minimum
    status_list.set_bit(bits, 0)
    status_list.set_bit(bits, 9)
    assert bits[0] == 0x80 and bits[1] == 0x40
    decoded = status_list.decode(status_list.encode(bits))
    assert status_list.get_bit(decoded, 0) and status_list.get_bit(decoded, 9) and not status_list.get_bit(decoded, 1)
    assert status_list.encode(bits) == status_list.encode(bytes(bits))  # deterministic
    status_list.set_bit(bits, 9, False)
    assert not status_list.get_bit(status_list.decode(status_list.encode(bits)), 9)
    with pytest.raises(IndexError):
        status_list.set_bit(bits, len(bits) * 8)


@pytest.mark.parametrize("encoded, message", [
    ("zabc", "starts with 'u'"),
    ("u!!!", "not base64url"),
    ("u" + "aGVsbG8", "not base64url-encoded GZIP"),
])
def test_bad_status_lists_are_refused(encoded, message):
    with pytest.raises(status_list.StatusListError, match=message):
        status_list.decode(encoded)


def test_a_compressed_bomb_is_refused_without_inflating_it():
    import base64  # noqa: PLC0415

    bomb = gzip.compress(bytes(status_list.MAX_DECODED_BYTES + 1024))
    encoded = "u" + base64.urlsafe_b64encode(bomb).decode().rstrip("=")
    with pytest.raises(status_list.StatusListError, match="larger than any status list"):
        status_list.decode(encoded)
