"""The catalog: syncing course specs into the database, searching courses, course outlines."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from blinker import Namespace
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from lms.catalog.models import Course, Item, MediaFile, Module, Pathway, PathwayCourse
from lms.content.specs import (
    CAPSTONE_PATH,
    LESSON_PATH,
    PATHWAY_PATH,
    SUPPORTED_ITEM_KINDS,
    CourseSpec,
    ItemSpec,
    PathwaySpec,
)
from lms.db import utcnow
from lms.errors import NotFound

# -- sync ---------------------------------------------------------------------------------------

signals = Namespace()
# Sent for every item written by a sync, inside its transaction: features that keep more about an
# item (quizzes: settings and questions) subscribe, so the catalog does not depend on them.
item_synced = signals.signal("item-synced")
# Sent once per course a sync wrote (after its items), and with ``spec=None`` for a course it retired:
# credentials keep the course's achievement in step.
course_synced = signals.signal("course-synced")
# The same for each pathway a sync wrote (``spec=None``: retired), after its courses.
pathway_synced = signals.signal("pathway-synced")

@dataclass
class CourseChanges:
    slug: str
    status: str  # "created", "updated", "unchanged", "retired"
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.slug}: {self.status}"]
        out += [f"  + {what}" for what in self.added]
        out += [f"  ~ {what}" for what in self.changed]
        out += [f"  - {what} (retired; learner records kept)" for what in self.retired]
        return out


def sync_courses(db: Session, specs: list[CourseSpec], media_dir: Path, *,
                 retire_missing: bool = False) -> list[CourseChanges]:
    """Upsert courses by slug and content hash, in the caller's transaction.

    Unchanged items keep their ids; items and modules gone from disk are retired, never deleted,
    so enrollments, completions and (later) attempts and credentials stay intact. With
    ``retire_missing`` (a sync of the whole courses folder), courses gone from disk are retired too.
    Media files are copied before the caller commits: content-addressed, so a rolled-back sync
    leaves at most an unreferenced file behind, never a row pointing at a missing one.
    """
    report = []
    now = utcnow()
    for spec in specs:
        _store_media(db, spec, media_dir)
        report.append(_sync_course(db, spec, now))
    if retire_missing:
        slugs = {spec.slug for spec in specs}
        for course in db.scalars(select(Course).where(Course.retired_at.is_(None))):
            if course.slug not in slugs:
                course.retired_at = now
                course_synced.send(db, course=course, spec=None, now=now, changes=None)
                report.append(CourseChanges(course.slug, "retired"))
    db.flush()
    return report


def _sync_course(db: Session, spec: CourseSpec, now) -> CourseChanges:
    course = db.scalar(select(Course).where(Course.slug == spec.slug))
    if course is not None and course.content_hash == spec.content_hash and course.retired_at is None:
        return CourseChanges(spec.slug, "unchanged")
    changes = CourseChanges(spec.slug, "created" if course is None else "updated")
    if course is None:
        course = Course(slug=spec.slug)
        db.add(course)
    course.title, course.summary, course.description_html = spec.title, spec.summary, spec.description_html
    course.level, course.estimated_hours, course.language = spec.level, spec.estimated_hours, spec.language
    course.skills, course.outcomes, course.authors = list(spec.skills), list(spec.outcomes), list(spec.authors)
    course.version, course.reviewed_on = spec.version, spec.reviewed_on
    course.review_every_months = spec.review_every_months
    course.prerequisites = list(spec.prerequisites)
    course.search_text = " ".join([spec.title, spec.summary, *spec.skills]).lower()
    course.content_hash, course.synced_at, course.retired_at = spec.content_hash, now, None
    db.flush()

    modules = {m.slug: m for m in db.scalars(select(Module).where(Module.course_id == course.id))}
    items = {(i.module_id, i.slug): i for i in db.scalars(select(Item).where(Item.course_id == course.id))}
    live_items: set[int] = set()
    for module_spec in spec.modules:
        module = modules.get(module_spec.slug)
        if module is None:
            module = Module(course_id=course.id, slug=module_spec.slug)
            db.add(module)
            changes.added.append(f"module {module_spec.slug}")
        elif module.content_hash != module_spec.content_hash or module.retired_at is not None:
            changes.changed.append(f"module {module_spec.slug}")
        module.position, module.title, module.summary = module_spec.position, module_spec.title, module_spec.summary
        module.prerequisites = list(module_spec.prerequisites)
        module.content_hash, module.retired_at = module_spec.content_hash, None
        db.flush()
        for item_spec in module_spec.items:
            live_items.add(_upsert_item(db, course.id, module.id, item_spec, items, changes, now, module_spec.slug))
    if spec.capstone is not None:
        live_items.add(_upsert_item(db, course.id, None, spec.capstone, items, changes, now, None))

    live_modules = {m.slug for m in spec.modules}
    for module in modules.values():
        if module.slug not in live_modules and module.retired_at is None:
            module.retired_at = now
            changes.retired.append(f"module {module.slug}")
    for item in items.values():
        if item.id not in live_items and item.retired_at is None:
            item.retired_at = now
            changes.retired.append(f"{item.kind} {item.source_path}")
    db.flush()
    course_synced.send(db, course=course, spec=spec, now=now, changes=changes)
    return changes


def _upsert_item(db: Session, course_id: int, module_id: int | None, spec: ItemSpec, existing: dict,
                 changes: CourseChanges, now, module_slug: str | None) -> int:
    item = existing.get((module_id, spec.slug))
    label = f"{spec.kind} {module_slug + '/' if module_slug else ''}{spec.slug}"
    if item is None:
        item = Item(course_id=course_id, module_id=module_id, slug=spec.slug, updated_at=now)
        db.add(item)
        changes.added.append(label)
    elif item.content_hash != spec.content_hash or item.retired_at is not None:
        changes.changed.append(label)
        item.updated_at = now
    item.kind, item.position, item.title, item.minutes = spec.kind, spec.position, spec.title, spec.minutes
    item.quiz_role = spec.quiz_role
    item.objectives, item.html, item.source_path = list(spec.objectives), spec.html, spec.source_path
    item.content_hash, item.retired_at = spec.content_hash, None
    db.flush()
    item_synced.send(db, item=item, spec=spec, now=now)
    return item.id


def sync_pathways(db: Session, specs: list[PathwaySpec], media_dir: Path, *,
                  retire_missing: bool = False) -> list[CourseChanges]:
    """Upsert pathways by slug and content hash, in the caller's transaction, after their courses' sync.

    The loader has checked that every course a pathway lists is among the synced courses. With
    ``retire_missing`` (a sync of the whole courses folder), pathways whose file is gone are retired.
    """
    report = []
    now = utcnow()
    wanted = {slug for spec in specs for slug in spec.courses}
    course_ids = dict(db.execute(select(Course.slug, Course.id).where(Course.slug.in_(wanted),
                                                                      Course.retired_at.is_(None))).all())
    missing = sorted(wanted - set(course_ids))
    if missing:
        raise ValueError(f"pathways name courses that are not synced: {', '.join(missing)}; sync the courses first")
    existing = {pathway.slug: pathway for pathway in db.scalars(select(Pathway))}
    for spec in specs:
        _store_media(db, spec, media_dir)
        pathway = existing.get(spec.slug)
        label = f"pathway {spec.slug}"
        if pathway is not None and pathway.content_hash == spec.content_hash and pathway.retired_at is None:
            report.append(CourseChanges(label, "unchanged"))
            continue
        changes = CourseChanges(label, "created" if pathway is None else "updated")
        if pathway is None:
            pathway = Pathway(slug=spec.slug)
            db.add(pathway)
        pathway.title, pathway.summary, pathway.description = spec.title, spec.summary, spec.description
        pathway.skills, pathway.required_count = [skill.name for skill in spec.skills], spec.required
        pathway.content_hash, pathway.synced_at, pathway.retired_at = spec.content_hash, now, None
        db.flush()
        db.execute(delete(PathwayCourse).where(PathwayCourse.pathway_id == pathway.id))
        db.add_all(PathwayCourse(pathway_id=pathway.id, course_id=course_ids[slug], position=position)
                   for position, slug in enumerate(spec.courses, start=1))
        db.flush()
        pathway_synced.send(db, pathway=pathway, spec=spec, now=now, changes=changes)
        report.append(changes)
    if retire_missing:
        slugs = {spec.slug for spec in specs}
        for pathway in existing.values():
            if pathway.slug not in slugs and pathway.retired_at is None:
                pathway.retired_at = now
                pathway_synced.send(db, pathway=pathway, spec=None, now=now, changes=None)
                report.append(CourseChanges(f"pathway {pathway.slug}", "retired"))
    db.flush()
    return report


def _store_media(db: Session, spec: CourseSpec | PathwaySpec, media_dir: Path) -> None:
    media_dir.mkdir(parents=True, exist_ok=True)
    known = set(db.scalars(select(MediaFile.sha256).where(MediaFile.sha256.in_([a.sha256 for a in spec.assets]))))
    for asset in spec.assets:
        target = media_dir / f"{asset.sha256}{asset.extension}"
        if not target.exists():
            # Write to a temporary name, sync, then rename: readers never see a partial file.
            fd, tmp = tempfile.mkstemp(dir=media_dir, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as out, open(asset.source, "rb") as src:
                    shutil.copyfileobj(src, out)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        if asset.sha256 not in known:
            db.add(MediaFile(sha256=asset.sha256, extension=asset.extension, media_type=asset.media_type,
                             size=asset.size))
            known.add(asset.sha256)


# -- reading the catalog ------------------------------------------------------------------------

def search_courses(db: Session, query: str = "", level: str | None = None) -> list[Course]:
    """Published courses matching every word of ``query`` (title, summary, skills) and the level."""
    stmt = select(Course).where(Course.retired_at.is_(None)).order_by(Course.title)
    for word in query.lower().split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Course.search_text.like(f"%{escaped}%", escape="\\"))
    if level:
        stmt = stmt.where(Course.level == level)
    return list(db.scalars(stmt))


def get_course(db: Session, slug: str) -> Course:
    course = db.scalar(select(Course).where(Course.slug == slug, Course.retired_at.is_(None)))
    if course is None:
        raise NotFound("There is no course at this address. It may have been renamed or retired.")
    return course


@dataclass(frozen=True)
class PathwayCourseRef:
    slug: str
    title: str


@dataclass(frozen=True)
class PathwayCard:
    """A pathway as the catalog shows it: what it is and which courses' credentials it stacks."""
    slug: str
    title: str
    summary: str
    description: str
    skills: tuple[str, ...]
    required: int  # how many of ``courses``
    courses: tuple[PathwayCourseRef, ...]

    @property
    def url(self) -> str:
        return PATHWAY_PATH.format(pathway=self.slug)

    @property
    def requires_all(self) -> bool:
        return self.required >= len(self.courses)


def list_pathways(db: Session, slug: str | None = None) -> list[PathwayCard]:
    """Live pathways by title, each with its courses in order: one statement however many there are."""
    stmt = (select(Pathway.slug, Pathway.title, Pathway.summary, Pathway.description, Pathway.skills,
                   Pathway.required_count, Course.slug, Course.title)
            .join(PathwayCourse, PathwayCourse.pathway_id == Pathway.id)
            .join(Course, Course.id == PathwayCourse.course_id)
            .where(Pathway.retired_at.is_(None))
            .order_by(Pathway.title, Pathway.id, PathwayCourse.position))
    if slug is not None:
        stmt = stmt.where(Pathway.slug == slug)
    cards: dict[str, tuple[tuple, list[PathwayCourseRef]]] = {}
    for p_slug, title, summary, description, skills, required, course_slug, course_title in db.execute(stmt):
        entry = cards.setdefault(p_slug, ((p_slug, title, summary, description, tuple(skills), required), []))
        entry[1].append(PathwayCourseRef(course_slug, course_title))
    return [PathwayCard(*fields, courses=tuple(courses)) for fields, courses in cards.values()]


def get_pathway(db: Session, slug: str) -> PathwayCard:
    found = list_pathways(db, slug)
    if not found:
        raise NotFound("There is no pathway at this address. It may have been renamed or retired.")
    return found[0]


def get_media(db: Session, sha256: str, extension: str) -> MediaFile:
    media = db.get(MediaFile, sha256)
    if media is None or media.extension != extension:
        raise NotFound("No such file.")
    return media


# -- outlines -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutlineItem:
    id: int
    slug: str
    kind: str
    title: str
    minutes: int | None
    module_slug: str | None
    number: str  # "2.3": module position . item position among the module's items
    url: str  # built once with the content layer's LESSON_PATH: pages list many, url_for is slow
    takeable: bool  # a kind learners can open now (SUPPORTED_ITEM_KINDS)
    quiz_role: str | None = None  # a quiz's role: "module" (a step), "placement" (test-out), "recertification"

    @property
    def is_step(self) -> bool:
        """Part of working through the course (what progress counts): not a placement or recertification quiz."""
        return self.takeable and self.quiz_role in (None, "module")


@dataclass(frozen=True)
class OutlineModule:
    id: int
    slug: str
    position: int
    title: str
    summary: str
    items: tuple[OutlineItem, ...]
    prerequisites: tuple[str, ...] = ()  # slugs of earlier modules to complete first

    @cached_property
    def steps(self) -> tuple[OutlineItem, ...]:
        return tuple(i for i in self.items if i.is_step)

    @cached_property
    def placement(self) -> OutlineItem | None:
        """The quiz that tests a learner out of this module, if it has one."""
        return next((i for i in self.items if i.quiz_role == "placement" and i.takeable), None)


@dataclass(frozen=True)
class Outline:
    """A course's live structure in order, without lesson bodies. Shared by every learner.

    Built once per process and course version (see get_outlines), so derived views of it are
    cached properties: pages read them many times per request.
    """

    course_id: int
    content_hash: str
    course_slug: str
    course_title: str
    modules: tuple[OutlineModule, ...]
    capstone: OutlineItem | None

    @cached_property
    def course_url(self) -> str:
        return f"/courses/{self.course_slug}"

    @cached_property
    def items(self) -> tuple[OutlineItem, ...]:
        return tuple(i for m in self.modules for i in m.items)

    @cached_property
    def quizzes_by_ref(self) -> dict[str, OutlineItem]:
        """The quizzes by "module-slug/quiz-slug", as course.yml's credential requirements name them."""
        return {f"{i.module_slug}/{i.slug}": i for i in self.items if i.kind == "quiz"}

    @cached_property
    def steps(self) -> tuple[OutlineItem, ...]:
        """The items a learner works through in order (what progress counts): the modules' items,
        then the capstone."""
        capstone = (self.capstone,) if self.capstone is not None and self.capstone.takeable else ()
        return tuple(i for i in self.items if i.is_step) + capstone

    @cached_property
    def module_quizzes(self) -> tuple[OutlineItem, ...]:
        """The quizzes that are steps (role "module"), in course order."""
        return tuple(i for i in self.items if i.kind == "quiz" and i.quiz_role == "module")

    @cached_property
    def has_prerequisites(self) -> bool:
        return any(m.prerequisites for m in self.modules)

    @cached_property
    def modules_by_slug(self) -> dict[str, OutlineModule]:
        return {m.slug: m for m in self.modules}

    @cached_property
    def module_of(self) -> dict[int, OutlineModule]:
        """Each module item's id -> its module."""
        return {i.id: m for m in self.modules for i in m.items}

    @cached_property
    def step_ids(self) -> frozenset[int]:
        return frozenset(step.id for step in self.steps)

    @cached_property
    def step_index(self) -> dict[int, int]:
        """Position of each step's id in ``steps``."""
        return {step.id: n for n, step in enumerate(self.steps)}

    @cached_property
    def assessments(self) -> tuple[OutlineItem, ...]:
        found = [i for m in self.modules for i in m.items if i.kind in ("quiz", "capstone")]
        return tuple(found + ([self.capstone] if self.capstone else []))

    def neighbours(self, item: OutlineItem) -> tuple[OutlineItem | None, OutlineItem | None]:
        """The takeable steps just before and after an item (which may itself be an assessment)."""
        ordered = self.items + ((self.capstone,) if self.capstone is not None else ())
        index = next(n for n, candidate in enumerate(ordered) if candidate.id == item.id)
        before = next((i for i in reversed(ordered[:index]) if i.takeable), None)
        after = next((i for i in ordered[index + 1:] if i.takeable), None)
        return before, after

    @cached_property
    def _by_slugs(self) -> dict[tuple[str | None, str], OutlineItem]:
        return {(i.module_slug, i.slug): i for i in self.items}

    def find(self, module_slug: str, item_slug: str) -> OutlineItem | None:
        return self._by_slugs.get((module_slug, item_slug))

    def by_id(self, item_id: int | None) -> OutlineItem | None:
        index = self.step_index.get(item_id)
        return None if index is None else self.steps[index]


# Outlines change only when a sync changes the course's content hash, so each process keeps the
# latest one per course. The hash comes from the courses row read by the same request, so a sync
# on any node is seen by every node on its next request; no invalidation messages are needed.
_outline_cache: dict[int, Outline] = {}
_outline_lock = threading.Lock()


def get_outlines(db: Session, courses: list[tuple[int, str]]) -> dict[int, Outline]:
    """Outlines for (course id, content hash) pairs; one query for all that are not cached."""
    found: dict[int, Outline] = {}
    missing: dict[int, str] = {}
    for course_id, content_hash in courses:
        cached = _outline_cache.get(course_id)
        if cached is not None and cached.content_hash == content_hash:
            found[course_id] = cached
        else:
            missing[course_id] = content_hash
    if missing:
        names = {cid: (slug, title) for cid, slug, title in
                 db.execute(select(Course.id, Course.slug, Course.title).where(Course.id.in_(missing)))}
        rows = db.execute(
            select(Item.id, Item.course_id, Item.slug, Item.kind, Item.title, Item.minutes, Item.position,
                   Module.id, Module.slug, Module.position, Module.title, Module.summary, Module.prerequisites,
                   Item.quiz_role)
            .outerjoin(Module, Item.module_id == Module.id)
            .where(Item.course_id.in_(missing), Item.retired_at.is_(None), Module.retired_at.is_(None))
            .order_by(Item.course_id, Module.position, Item.position)
        ).all()
        modules: dict[int, dict[int, list]] = {cid: {} for cid in missing}
        module_info: dict[int, tuple] = {}
        capstones: dict[int, OutlineItem] = {}
        for (item_id, course_id, slug, kind, title, minutes, _pos, module_id, module_slug, module_pos,
             module_title, module_summary, module_prerequisites, quiz_role) in rows:
            if module_id is None:
                course_slug = names.get(course_id, ("", ""))[0]
                capstones[course_id] = OutlineItem(item_id, slug, kind, title, minutes, None, "",
                                                   CAPSTONE_PATH.format(course=course_slug),
                                                   kind in SUPPORTED_ITEM_KINDS)
                continue
            module_info[module_id] = (module_slug, module_pos, module_title, module_summary,
                                      tuple(module_prerequisites or ()))
            modules[course_id].setdefault(module_id, []).append((item_id, slug, kind, title, minutes, quiz_role))
        with _outline_lock:
            for course_id, content_hash in missing.items():
                built = []
                slug, title = names.get(course_id, ("", ""))
                for module_number, (module_id, entries) in enumerate(modules[course_id].items(), start=1):
                    m_slug, m_pos, m_title, m_summary, m_prerequisites = module_info[module_id]
                    items = tuple(
                        OutlineItem(iid, s, k, t, mins, m_slug, f"{module_number}.{n}",
                                    LESSON_PATH.format(course=slug, module=m_slug, item=s), k in SUPPORTED_ITEM_KINDS,
                                    role)
                        for n, (iid, s, k, t, mins, role) in enumerate(entries, start=1)
                    )
                    built.append(OutlineModule(module_id, m_slug, m_pos, m_title, m_summary, items, m_prerequisites))
                outline = Outline(course_id, content_hash, slug, title, tuple(built), capstones.get(course_id))
                _outline_cache[course_id] = outline
                found[course_id] = outline
    return found


def get_outline(db: Session, course: Course) -> Outline:
    return get_outlines(db, [(course.id, course.content_hash)])[course.id]


# Stored lesson HTML is the same for every learner and changes only with the course's content hash,
# so each process keeps what it served (bounded; a full cache simply starts over).
_html_cache: dict[int, tuple[str, str]] = {}
_ITEM_HTML_QUERY = select(Item.html).where(Item.id == bindparam("item_id"))
HTML_CACHE_ITEMS = 2000


def get_item_html(db: Session, item_id: int, course_content_hash: str) -> str:
    cached = _html_cache.get(item_id)
    if cached is not None and cached[0] == course_content_hash:
        return cached[1]
    html = db.connection().execute(_ITEM_HTML_QUERY, {"item_id": item_id}).scalar() or ""
    if len(_html_cache) >= HTML_CACHE_ITEMS:
        _html_cache.clear()
    _html_cache[item_id] = (course_content_hash, html)
    return html
