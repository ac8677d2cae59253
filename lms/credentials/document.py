"""The Open Badges 3.0 ``OpenBadgeCredential`` a learner receives, built from plain values (no database).

The credential carries what an employer needs without asking us: the achievement (its criteria,
skills and how each assessment is scored), the learner's results against those descriptions, the
evidence (the capstone, linked when the learner made it public), the dates, and where its revocation
status is published. Text from courses and learners passes through :func:`clean_text`: control
characters (other than tab and newline) are removed, since they cannot be signed portably.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from lms.credentials.contexts import OB_V3, VC_V2
from lms.credentials.proof import timestamp

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Text as it goes into a credential: control characters removed, carriage returns as newlines."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


@dataclass(frozen=True)
class Skill:
    """A skill the achievement certifies; aligned to a public framework when it names one."""
    name: str
    target_url: str | None = None  # the skill's page in a public framework (an Alignment needs one)
    framework: str | None = None  # that framework's name, e.g. "ESCO"
    code: str | None = None


@dataclass(frozen=True)
class RubricLevel:
    id: str
    name: str
    description: str = ""
    points: float | None = None


@dataclass(frozen=True)
class ResultSpec:
    """How one assessment is reported (an OB ``ResultDescription``): a quiz's percent, a rubric criterion."""
    id: str  # a URL or urn:uuid, the same in every credential for this achievement version
    name: str
    result_type: str  # "Percent", "RubricCriterionLevel" or "Status"
    required_value: str | None = None  # e.g. the pass score "70"
    levels: tuple[RubricLevel, ...] = ()
    required_level: str | None = None  # the id of the lowest level that passes


@dataclass(frozen=True)
class AchievementSpec:
    id: str  # the achievement's public URL (stable across credentials)
    name: str
    description: str
    criteria: str  # Markdown narrative: what a learner did to earn it
    image_url: str | None = None
    image_caption: str | None = None
    skills: tuple[Skill, ...] = ()
    results: tuple[ResultSpec, ...] = ()
    achievement_type: str = "MicroCredential"
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LearnerResult:
    result_id: str  # the ResultSpec it reports against
    value: str | None = None  # e.g. "92" for a percent
    achieved_level: str | None = None  # a RubricLevel id
    status: str | None = None  # for Status results: "Completed"


@dataclass(frozen=True)
class EvidenceItem:
    name: str
    narrative: str | None = None
    url: str | None = None  # only when the learner made it public
    genre: str | None = None  # e.g. "Capstone project"
    description: str | None = None


@dataclass(frozen=True)
class IssuerProfile:
    id: str  # the issuer's DID
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class StatusEntry:
    """Where the credential's revocation bit lives: a BitstringStatusListCredential and an index in it."""
    list_url: str
    index: int
    purpose: str = "revocation"


@dataclass(frozen=True)
class CredentialContent:
    id: str  # the credential's URL
    issuer: IssuerProfile
    achievement: AchievementSpec
    learner_name: str
    valid_from: datetime
    valid_until: datetime | None = None
    learner_email: str | None = None  # stored only as a salted hash, so an employer can check it
    email_salt: str | None = None
    results: tuple[LearnerResult, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    status: StatusEntry | None = None
    extra_types: tuple[str, ...] = ()  # more credential types, e.g. "AchievementCredential"


def _drop_empty(node: dict) -> dict:
    return {key: value for key, value in node.items() if value not in (None, "", [], ())}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _alignment(skill: Skill) -> dict:
    return _drop_empty({"type": ["Alignment"], "targetName": clean_text(skill.name), "targetUrl": skill.target_url,
                        "targetFramework": skill.framework and clean_text(skill.framework),
                        "targetCode": skill.code and clean_text(skill.code)})


def _result_description(spec: ResultSpec) -> dict:
    return _drop_empty({
        "id": spec.id, "type": ["ResultDescription"], "name": clean_text(spec.name), "resultType": spec.result_type,
        "requiredValue": spec.required_value, "requiredLevel": spec.required_level,
        "rubricCriterionLevel": [_drop_empty({
            "id": level.id, "type": ["RubricCriterionLevel"], "name": clean_text(level.name),
            "description": clean_text(level.description),
            "points": None if level.points is None else str(_number(level.points))}) for level in spec.levels],
    })


def _achievement(spec: AchievementSpec) -> dict:
    return _drop_empty({
        "id": spec.id,
        "type": ["Achievement"],
        "achievementType": spec.achievement_type,
        "name": clean_text(spec.name),
        "description": clean_text(spec.description),
        "criteria": {"narrative": clean_text(spec.criteria)},
        "image": spec.image_url and _drop_empty({"id": spec.image_url, "type": "Image",
                                                 "caption": spec.image_caption and clean_text(spec.image_caption)}),
        "alignment": [_alignment(s) for s in spec.skills if s.target_url],
        "tag": [clean_text(s.name) for s in spec.skills if not s.target_url] + [clean_text(t) for t in spec.tags],
        "resultDescription": [_result_description(r) for r in spec.results],
    })


def email_identity_hash(email: str, salt: str) -> str:
    """OB 3.0 hashed identifier: "sha256$" + hex(sha256(email + salt)), the email lower-cased."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def build_credential(content: CredentialContent) -> dict:
    """The unsigned credential (sign it with :func:`lms.credentials.proof.sign`)."""
    known = {r.id for r in content.achievement.results}
    unknown = [r.result_id for r in content.results if r.result_id not in known]
    if unknown:
        raise ValueError(f"results for descriptions the achievement does not have: {', '.join(unknown)}")
    subject = _drop_empty({
        "type": ["AchievementSubject"],
        "name": clean_text(content.learner_name),
        "identifier": [{"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                        "identityHash": email_identity_hash(content.learner_email, content.email_salt),
                        "salt": content.email_salt}] if content.learner_email and content.email_salt else None,
        "achievement": _achievement(content.achievement),
        "result": [_drop_empty({"type": ["Result"], "resultDescription": r.result_id, "value": r.value,
                                "achievedLevel": r.achieved_level, "status": r.status}) for r in content.results],
    })
    document = _drop_empty({
        "@context": [VC_V2, OB_V3],
        "id": content.id,
        "type": ["VerifiableCredential", "OpenBadgeCredential", *content.extra_types],
        "issuer": _drop_empty({"id": content.issuer.id, "type": ["Profile"], "name": clean_text(content.issuer.name),
                               "url": content.issuer.url, "email": content.issuer.email,
                               "description": content.issuer.description and clean_text(content.issuer.description)}),
        "name": clean_text(content.achievement.name),
        "validFrom": timestamp(content.valid_from),
        "validUntil": content.valid_until and timestamp(content.valid_until),
        "credentialSubject": subject,
        "evidence": [_drop_empty({"type": ["Evidence"], "id": e.url, "name": clean_text(e.name),
                                  "narrative": e.narrative and clean_text(e.narrative),
                                  "description": e.description and clean_text(e.description),
                                  "genre": e.genre and clean_text(e.genre)}) for e in content.evidence],
        "credentialStatus": content.status and {
            "id": f"{content.status.list_url}#{content.status.index}", "type": "BitstringStatusListEntry",
            "statusPurpose": content.status.purpose, "statusListIndex": str(content.status.index),
            "statusListCredential": content.status.list_url},
    })
    return document
