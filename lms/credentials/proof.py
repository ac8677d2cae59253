"""Data Integrity proofs, cryptosuite ``eddsa-rdfc-2022`` (W3C VC Data Integrity EdDSA Cryptosuites).

To sign: canonicalize (RDFC-1.0) the proof options, with the document's ``@context``, and the document
without its proof; sign ``sha256(options) || sha256(document)`` with Ed25519 (the 64 bytes, not hashed
again); the proof value is "z" + base58btc(signature). Verifying repeats the hashing over what the
document says and checks the signature with the key its verification method names.

PyLD does the canonicalization, with three precautions learnt from checking against Digital Bazaar's
verifier: the algorithm is named URDNA2015 (RDFC-1.0's old name; PyLD's default, URGNA2012, agrees only
while a document has at most one blank node); contexts come only from the bundled files; and text with
control characters other than tab, newline and carriage return is refused, because PyLD writes them
raw where RDFC-1.0 escapes them, so such a signature would not verify elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld import jsonld

from lms.credentials.contexts import document_loader
from lms.credentials.keys import KeyFormatError, from_multibase_base58, multibase_base58

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

# C0 controls and DEL, except tab, newline and carriage return (which PyLD escapes as RDFC-1.0 does).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ProofError(ValueError):
    """A document that cannot be signed or checked as given; the message says why."""


def control_characters(document) -> list[str]:
    """Where the document's text holds control characters, as JSON paths ("credentialSubject.name")."""
    found: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, str):
            if _CONTROL.search(value):
                found.append(path or "(the document)")
        elif isinstance(value, dict):
            for key, item in value.items():
                if _CONTROL.search(key):
                    found.append(f"{path}.{key!r}".lstrip("."))
                walk(item, f"{path}.{key}".lstrip("."))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")

    walk(document, "")
    return found


def canonical_nquads(document: dict) -> str:
    """The document as canonical N-Quads (RDFC-1.0), with the bundled contexts only."""
    try:
        return jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                           "documentLoader": document_loader})
    except jsonld.JsonLdError as exc:
        raise ProofError(f"the document is not valid JSON-LD over the known contexts: {_cause(exc)}") from None


def _cause(exc: BaseException) -> str:
    # PyLD wraps the loader's error (an unknown context) several levels deep: report the innermost.
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.splitlines()[0]


def _hash_data(unsigned: dict, options: dict) -> bytes:
    config = {"@context": options.get("@context", unsigned.get("@context")),
              **{k: v for k, v in options.items() if k != "@context"}}
    return (hashlib.sha256(canonical_nquads(config).encode("utf-8")).digest()
            + hashlib.sha256(canonical_nquads(unsigned).encode("utf-8")).digest())


def timestamp(moment: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC, to the second: "2026-12-06T13:00:00Z"."""
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(document: dict, private_key: Ed25519PrivateKey, verification_method: str, created: datetime) -> dict:
    """The document with a Data Integrity proof (as a one-element ``proof`` array, as the OB 3.0
    schema types it). Any proof the document had is replaced."""
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    where = control_characters(unsigned)
    if where:
        raise ProofError("control characters cannot be signed portably; remove them from: " + ", ".join(where))
    options = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": timestamp(created),
               "verificationMethod": verification_method, "proofPurpose": PROOF_PURPOSE}
    signature = private_key.sign(_hash_data(unsigned, options))
    return {**unsigned, "proof": [{**options, "proofValue": multibase_base58(signature)}]}


@dataclass
class ProofCheck:
    """What checking a document's proof found: ``verified`` only when ``errors`` is empty."""

    errors: list[str] = field(default_factory=list)
    verification_method: str | None = None
    created: str | None = None

    @property
    def verified(self) -> bool:
        return not self.errors


def verify(document: dict, resolve_key: Callable[[str], Ed25519PublicKey]) -> ProofCheck:
    """Check the document's eddsa-rdfc-2022 proof. ``resolve_key`` maps a verification method to its
    public key (raising KeyFormatError or LookupError when it cannot). Never raises for a bad document."""
    check = ProofCheck()
    proofs = document.get("proof") if isinstance(document, dict) else None
    if isinstance(proofs, dict):
        proofs = [proofs]
    if not isinstance(proofs, list) or not proofs:
        check.errors.append("The document has no proof: it is not signed.")
        return check
    ours = [p for p in proofs if isinstance(p, dict) and p.get("type") == PROOF_TYPE
            and p.get("cryptosuite") == CRYPTOSUITE]
    if len(ours) != 1 or len(proofs) != 1:
        check.errors.append(f"Expected exactly one proof of type {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}; "
                            f"found {len(proofs)} proof(s), {len(ours)} of that kind.")
        return check
    proof = ours[0]
    check.verification_method = proof.get("verificationMethod")
    check.created = proof.get("created")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        check.errors.append(f"The proof's purpose is {proof.get('proofPurpose')!r}, not {PROOF_PURPOSE!r}.")
    if not isinstance(check.verification_method, str):
        check.errors.append("The proof names no verification method (the key that signed it).")
    where = control_characters(document)
    if where:
        check.errors.append("The document holds control characters, which cannot be checked reliably: "
                            + ", ".join(where) + ".")
    if check.errors:
        return check
    try:
        signature = from_multibase_base58(proof.get("proofValue"))
        public_key = resolve_key(check.verification_method)
    except (KeyFormatError, LookupError) as exc:
        check.errors.append(f"The proof cannot be checked: {exc}.")
        return check
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    unsigned = {key: value for key, value in document.items() if key != "proof"}
    try:
        public_key.verify(signature, _hash_data(unsigned, options))
    except ProofError as exc:
        check.errors.append(str(exc) + ".")
    except InvalidSignature:
        check.errors.append("The signature does not match the document: it was changed after signing, "
                            "or signed with another key.")
    return check
