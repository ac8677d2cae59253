"""Checking a credential from the document alone: what an employer pastes is what is judged.

Never looks the credential up in our database: the signature, the issuer, the dates and the format
come from the document; revocation from the status list credential it names (itself signed by the
issuer, and fetched by the caller: the platform reads its own, the CLI asks the platform's site).
Each check says what it found, so the verdict explains itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lms.credentials import proof, status_list
from lms.credentials.contexts import VC_V2

CLOCK_SKEW = timedelta(minutes=5)
MAX_DOCUMENT_BYTES = 1024 * 1024  # a credential is a few KB; a pasted megabyte is not one


@dataclass(frozen=True)
class Check:
    name: str  # "format", "signature", "issuer", "dates", "revocation"
    passed: bool | None  # None: could not be checked (said in ``detail``)
    detail: str


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    credential: dict | None = None

    def _check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def authentic(self) -> bool:
        """Well-formed, signed by the key of the issuer it names, and unchanged since."""
        return all((c := self._check(n)) is not None and c.passed for n in ("format", "signature", "issuer"))

    @property
    def status(self) -> str:
        """"valid", "expired", "not yet valid", "revoked", "status unknown" or "invalid"."""
        if not self.authentic:
            return "invalid"
        revocation = self._check("revocation")
        if revocation is not None and revocation.passed is False:
            return "revoked"
        dates = self._check("dates")
        if dates is not None and not dates.passed:
            return "not yet valid" if "not valid before" in dates.detail else "expired"
        if revocation is not None and revocation.passed is None:
            return "status unknown"
        return "valid"

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks]


def parse_document(data: str | bytes | dict) -> dict:
    """The credential as a JSON object, or ValueError with a message for the person who pasted it."""
    if isinstance(data, dict):
        return data
    if isinstance(data, bytes):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ValueError("That is larger than any credential (1 MB at most): paste the credential's JSON.")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("That file is not text: upload the credential's .json file.") from None
    if len(data.encode("utf-8")) > MAX_DOCUMENT_BYTES:
        raise ValueError("That is larger than any credential (1 MB at most): paste the credential's JSON.")
    try:
        document = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ValueError(f"That is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
                         "Paste the whole credential, from the first { to the last }.") from None
    except RecursionError:  # nested thousands deep: no credential is
        raise ValueError("That JSON is nested far deeper than any credential: paste the credential's JSON.") from None
    if not isinstance(document, dict):
        raise ValueError("That JSON is not a credential: a credential is a JSON object ({ ... }).")
    return document


def _issuer_id(document: dict) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _format_problems(document: dict) -> list[str]:
    problems = []
    contexts = document.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2:
        problems.append(f"its first @context is not {VC_V2} (it is not a VC 2.0 credential)")
    types = document.get("type") if isinstance(document.get("type"), list) else [document.get("type")]
    if "VerifiableCredential" not in types:
        problems.append("its type does not include VerifiableCredential")
    elif not {"OpenBadgeCredential", "AchievementCredential"} & set(types):
        problems.append("it is not an Open Badges credential (type OpenBadgeCredential)")
    if _issuer_id(document) is None:
        problems.append("it names no issuer")
    if not isinstance(document.get("credentialSubject"), dict):
        problems.append("it has no credentialSubject")
    if _parse_time(document.get("validFrom")) is None:
        problems.append("its validFrom is missing or not a date-time with a time zone")
    if "validUntil" in document and _parse_time(document.get("validUntil")) is None:
        problems.append("its validUntil is not a date-time with a time zone")
    return problems


def _check_signature(document: dict, resolve_key) -> tuple[Check, proof.ProofCheck]:
    result = proof.verify(document, resolve_key)
    if result.verified:
        return Check("signature", True, f"signed on {result.created or 'an unstated date'} with "
                                         f"{result.verification_method}; unchanged since"), result
    return Check("signature", False, " ".join(result.errors)), result


def _check_issuer(document: dict, proof_check: proof.ProofCheck) -> Check:
    issuer = _issuer_id(document)
    method = proof_check.verification_method or ""
    if method.partition("#")[0] == issuer:
        name = document["issuer"].get("name") if isinstance(document.get("issuer"), dict) else None
        return Check("issuer", True, f"signed by the issuer it names: {name + ' ' if name else ''}({issuer})")
    return Check("issuer", False, f"the key that signed it ({method or 'none'}) does not belong to the issuer "
                                  f"it names ({issuer})")


def _check_dates(document: dict, now: datetime) -> Check:
    valid_from = _parse_time(document.get("validFrom"))
    valid_until = _parse_time(document.get("validUntil"))
    if valid_from and valid_from > now + CLOCK_SKEW:
        return Check("dates", False, f"not valid before {valid_from:%Y-%m-%d %H:%M} UTC")
    if valid_until and valid_until < now - CLOCK_SKEW:
        return Check("dates", False, f"expired on {valid_until.astimezone(UTC):%Y-%m-%d}")
    until = f"until {valid_until.astimezone(UTC):%Y-%m-%d}" if valid_until else "with no expiry date"
    return Check("dates", True, f"issued {valid_from.astimezone(UTC):%Y-%m-%d}, valid {until}")


def _check_revocation(document: dict, issuer: str, resolve_key,
                      fetch_status_list: Callable[[str], dict] | None) -> Check | None:
    entry = document.get("credentialStatus")
    if entry is None:
        return None
    entries = entry if isinstance(entry, list) else [entry]
    revocation = [e for e in entries if isinstance(e, dict) and e.get("type") == "BitstringStatusListEntry"
                  and e.get("statusPurpose") == "revocation"]
    if not revocation:
        return Check("revocation", None, "its credentialStatus is not a revocation BitstringStatusListEntry")
    entry = revocation[0]
    url, index = entry.get("statusListCredential"), entry.get("statusListIndex")
    try:
        index = int(index)
    except (TypeError, ValueError):
        return Check("revocation", None, f"its statusListIndex {index!r} is not a number")
    if fetch_status_list is None or not isinstance(url, str):
        return Check("revocation", None, "not checked: the status list was not available (offline)")
    try:
        listing = fetch_status_list(url)
    except LookupError as exc:
        return Check("revocation", None, f"not checked: the status list {url} could not be read ({exc})")
    list_proof = proof.verify(listing, resolve_key)
    if not list_proof.verified or (list_proof.verification_method or "").partition("#")[0] != issuer \
            or _issuer_id(listing) != issuer:
        return Check("revocation", None, f"not checked: the status list at {url} is not signed by the issuer")
    subject = listing.get("credentialSubject") or {}
    if subject.get("statusPurpose") != "revocation":
        return Check("revocation", None, f"not checked: the list at {url} is not a revocation list")
    try:
        revoked = status_list.get_bit(status_list.decode(subject.get("encodedList")), index)
    except status_list.StatusListError as exc:
        return Check("revocation", None, f"not checked: {exc}")
    if revoked:
        return Check("revocation", False, "revoked by the issuer (its status list says so)")
    return Check("revocation", True, "not revoked (checked against the issuer's status list)")


def verify_credential(data: str | bytes | dict, resolve_key: Callable[[str], Ed25519PublicKey], *,
                      fetch_status_list: Callable[[str], dict] | None = None, now: datetime | None = None) -> Verdict:
    """Judge a credential. Raises ValueError only when ``data`` is not a JSON object at all."""
    now = now or datetime.now(UTC)
    document = parse_document(data)
    verdict = Verdict(credential=document)
    problems = _format_problems(document)
    verdict.checks.append(Check("format", not problems, "; ".join(problems) if problems
                                else "an Open Badges 3.0 credential (VC 2.0)"))
    signature, proof_check = _check_signature(document, resolve_key)
    verdict.checks.append(signature)
    if problems:
        return verdict
    verdict.checks.append(_check_issuer(document, proof_check))
    verdict.checks.append(_check_dates(document, now))
    if verdict.authentic:
        revocation = _check_revocation(document, _issuer_id(document), resolve_key, fetch_status_list)
        if revocation is not None:
            verdict.checks.append(revocation)
    return verdict
