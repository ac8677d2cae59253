"""Pathways: the course credentials a learner holds toward each pathway, and the pathway credentials due.

One evaluation serves the dashboard, the pathway page and issuance, so what a learner is told is still
missing is exactly what issuance checks. It reads the live version of each pathway's achievement (the
definition a new credential would be issued under), not the catalog's copy. A course credential counts
while it is current (not revoked, not superseded) and unexpired. A constant number of statements however
many pathways, courses and credentials: the live pathways, the learner's current credentials and, for
pages, the courses' titles. See docs/decisions/0013-pathways.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from lms.catalog.models import Course
from lms.content.specs import PATHWAY_PATH
from lms.credentials.held import HeldCredential, held_credentials
from lms.credentials.models import Achievement, AchievementVersion, Credential
from lms.db import utcnow

_FOREVER = datetime.max.replace(tzinfo=UTC)

@dataclass(frozen=True)
class PathwayCourseStatus:
    slug: str
    title: str
    credential_public_id: str | None = None  # the learner's current course credential, when they hold one

    @property
    def held(self) -> bool:
        return self.credential_public_id is not None


@dataclass(frozen=True)
class PathwayProgress:
    """Where a learner stands on one pathway: which of its courses' credentials they hold, what is missing."""
    slug: str
    title: str  # the pathway's title
    name: str  # its credential's name
    required: int  # how many of ``courses``
    courses: tuple[PathwayCourseStatus, ...]
    credential_public_id: str | None = None  # the learner's current, unexpired pathway credential
    valid_until: datetime | None = None  # ... and when it expires
    revoked: bool = False  # the issuer revoked the learner's pathway credential: not issued again automatically

    @property
    def url(self) -> str:
        return PATHWAY_PATH.format(pathway=self.slug)

    @property
    def held(self) -> bool:
        return self.credential_public_id is not None

    @property
    def held_count(self) -> int:
        return sum(course.held for course in self.courses)

    @property
    def still_needed(self) -> int:
        """How many more course credentials the learner needs (0: enough; the credential is held or due)."""
        return max(0, self.required - self.held_count)

    @property
    def missing(self) -> tuple[PathwayCourseStatus, ...]:
        return tuple(course for course in self.courses if not course.held)

    @property
    def requires_all(self) -> bool:
        return self.required >= len(self.courses)


@dataclass(frozen=True)
class DuePathway:
    """A pathway credential to issue now: a first one, or one renewing ``replaces``."""
    achievement_id: int
    version_id: int
    slug: str
    replaces: int | None = None  # the learner's current pathway credential that the new one supersedes


@dataclass(frozen=True)
class LivePathway:
    """A pathway's achievement and the definition of its live version."""
    achievement_id: int
    version_id: int
    slug: str
    spec: dict

    @property
    def courses(self) -> list[str]:
        return self.spec["requires"]["courses"]

    @property
    def required(self) -> int:
        return self.spec["requires"]["count"]


# Built once and run on the connection: the dashboard asks on every view. The live versions are read
# with the hash of their definition instead of the definition, which comes from ``_specs`` (parsing
# each pathway's JSON on every view cost more than the statement).
_LIVE_PATHWAYS = (select(Achievement.id, AchievementVersion.id, Achievement.slug, AchievementVersion.content_hash)
                  .join(AchievementVersion, and_(AchievementVersion.achievement_id == Achievement.id,
                                                 AchievementVersion.retired_at.is_(None)))
                  .where(Achievement.kind == "pathway", Achievement.retired_at.is_(None))
                  .order_by(Achievement.slug))
_LIVE_PATHWAY = _LIVE_PATHWAYS.where(Achievement.slug == bindparam("slug"))
_VERSION_SPECS = select(AchievementVersion.content_hash, AchievementVersion.spec).where(
    AchievementVersion.id.in_(bindparam("version_ids", expanding=True)))
_COURSE_TITLES = select(Course.slug, Course.title).where(Course.slug.in_(bindparam("slugs", expanding=True)))

# Parsed definitions per process, by their content hash (the sha256 of the definition's canonical JSON,
# written with it: lms/credentials/sync.py). The live versions' hashes are read on every call, so a
# definition changed by a sync on any node is a miss on the next call here (read in one more
# statement), with no invalidation message; nothing per learner is kept. Bounded: a full cache starts
# over. The dicts are shared by every request: read them, never change them.
_specs: dict[str, dict] = {}
_specs_lock = threading.Lock()
SPEC_CACHE_DEFINITIONS = 1000


def live_pathways(db: Session, slug: str | None = None) -> list[LivePathway]:
    """The pathways that can be earned now, each with its live definition (the version a credential gets)."""
    db.flush()  # (a Core statement: a sync in progress must see its own new rows)
    connection = db.connection()
    rows = connection.execute(_LIVE_PATHWAYS).all() if slug is None else \
        connection.execute(_LIVE_PATHWAY, {"slug": slug}).all()
    specs = {content_hash: _specs.get(content_hash) for *_row, content_hash in rows}  # (another thread may clear it)
    missing = [version_id for _id, version_id, _slug, content_hash in rows if specs[content_hash] is None]
    if missing:
        fetched = dict(connection.execute(_VERSION_SPECS, {"version_ids": missing}).all())
        specs.update(fetched)
        with _specs_lock:
            if len(_specs) + len(fetched) > SPEC_CACHE_DEFINITIONS:
                _specs.clear()
            _specs.update(fetched)
    return [LivePathway(achievement_id, version_id, slug_, specs[content_hash])
            for achievement_id, version_id, slug_, content_hash in rows]


def _counting_course_credentials(held: list[HeldCredential], now: datetime) -> dict[str, HeldCredential]:
    """Course slug -> the learner's unexpired current credential of it (at most one: the database says so)."""
    return {c.course_slug: c for c in held if c.course_slug is not None and c.counts(now)}


def choose_basis(courses: list[str], required: int,
                 counting: dict[str, HeldCredential]) -> tuple[HeldCredential, ...]:
    """The course credentials a pathway credential rests on, in the pathway's order: all of them for
    `require: all`; of more than N held, the N valid longest (so the pathway credential is too).
    Fewer than ``required`` when the learner does not hold enough."""
    held = [counting[slug] for slug in courses if slug in counting]
    if len(held) <= required:
        return tuple(held)
    longest = sorted(held, key=lambda c: c.valid_until or _FOREVER, reverse=True)  # (stable: ties in course order)
    chosen = {c.id for c in longest[:required]}
    return tuple(c for c in held if c.id in chosen)


def basis_expiry(basis: tuple[HeldCredential, ...]) -> datetime | None:
    """A pathway credential is valid until the earliest expiry of the course credentials it rests on."""
    ends = [c.valid_until for c in basis if c.valid_until is not None]
    return min(ends) if ends else None


def pathway_basis(db: Session, user_id: int, spec: dict, now: datetime) -> tuple[HeldCredential, ...]:
    """What a new credential of the pathway version ``spec`` would rest on for this learner now."""
    counting = _counting_course_credentials(held_credentials(db, user_id), now)
    return choose_basis(spec["requires"]["courses"], spec["requires"]["count"], counting)


def _revoked_by_issuer(held: list[HeldCredential]) -> set[int]:
    """The pathway achievements of which the learner had a credential revoked for its own sake."""
    return {c.achievement_id for c in held if c.course_slug is None and c.revoked_by_issuer}


def due_pathways(db: Session, user_id: int, now: datetime) -> list[DuePathway]:
    """The pathway credentials to issue the learner now: two statements, none when there is no pathway.

    Due when the learner holds enough counting course credentials and either no current credential of
    the pathway, or one that a new one would outlast (a course credential it rested on was renewed, or
    it expired and the courses' are valid again): that one is renewed. Never two for the same reason:
    with the same course credentials a new one would end at the same moment.

    Never after a revocation of the pathway credential itself (as for a course's, decision 0014: what
    earned it still stands, so issuing again would undo the issuer's decision). A pathway credential
    that fell only because a course credential it rested on was revoked (it names that one in
    ``revoked_with_id``) is due again once the learner holds enough course credentials again."""
    pathways = live_pathways(db)
    if not pathways:
        return []
    held = held_credentials(db, user_id)
    counting = _counting_course_credentials(held, now)
    pathway_credentials = {c.achievement_id: c for c in held if c.course_slug is None and c.current}
    revoked_by_issuer = _revoked_by_issuer(held)
    due = []
    for pathway in pathways:
        basis = choose_basis(pathway.courses, pathway.required, counting)
        if len(basis) < pathway.required:
            continue
        current = pathway_credentials.get(pathway.achievement_id)
        if current is None and pathway.achievement_id in revoked_by_issuer:
            continue
        if current is None:
            due.append(DuePathway(pathway.achievement_id, pathway.version_id, pathway.slug))
            continue
        until = basis_expiry(basis)
        if current.valid_until is not None and (until is None or until > current.valid_until):
            due.append(DuePathway(pathway.achievement_id, pathway.version_id, pathway.slug, replaces=current.id))
    return due


def pathway_progress(db: Session, user_id: int | None, now: datetime | None = None, *,
                     slug: str | None = None, held: list[HeldCredential] | None = None,
                     titles: dict[str, str] | None = None) -> list[PathwayProgress]:
    """Each live pathway (or the one ``slug`` names) by title, with what the learner holds toward it and
    what is missing; ``user_id=None`` (a visitor) holds nothing. At most three statements, whatever the
    numbers of pathways, courses and credentials (two when the caller read ``held`` already, one when
    ``titles``, course slug -> title read in this request, has every pathway course)."""
    now = now or utcnow()
    pathways = live_pathways(db, slug)
    if not pathways:
        return []
    slugs = {course for pathway in pathways for course in pathway.courses}
    titles = dict(titles or {})
    if unknown := slugs - titles.keys():
        titles.update(db.connection().execute(_COURSE_TITLES, {"slugs": sorted(unknown)}).all())
    if held is None:
        held = held_credentials(db, user_id) if user_id is not None else []
    counting = _counting_course_credentials(held, now)
    pathway_credentials = {c.achievement_id: c for c in held if c.course_slug is None and c.counts(now)}
    revoked_by_issuer = _revoked_by_issuer(held)
    current = {c.achievement_id for c in held if c.course_slug is None and c.current}
    progress = []
    for pathway in pathways:
        own = pathway_credentials.get(pathway.achievement_id)
        courses = tuple(PathwayCourseStatus(course, titles.get(course, course),
                                            counting[course].public_id if course in counting else None)
                        for course in pathway.courses)
        progress.append(PathwayProgress(
            slug=pathway.slug, title=pathway.spec["pathway"]["title"], name=pathway.spec["name"],
            required=pathway.required, courses=courses, credential_public_id=own.public_id if own else None,
            valid_until=own.valid_until if own else None,
            revoked=pathway.achievement_id in revoked_by_issuer and pathway.achievement_id not in current))
    return sorted(progress, key=lambda p: (p.title.casefold(), p.slug))


def pathway_credentials_resting_on(db: Session, credential: Credential) -> list[Credential]:
    """The holder's current pathway credentials whose evidence names ``credential`` (a course credential):
    what a revocation of it should revoke too. One statement."""
    suffix = f"/credentials/{credential.public_id}"
    candidates = db.scalars(
        select(Credential).join(Achievement, Achievement.id == Credential.achievement_id)
        .where(Credential.user_id == credential.user_id, Achievement.kind == "pathway",
               Credential.revoked_at.is_(None), Credential.superseded_at.is_(None))
        .order_by(Credential.id))
    return [c for c in candidates
            if any(str(e.get("id", "")).endswith(suffix) for e in c.document.get("evidence", []))]
