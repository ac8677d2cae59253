"""Enrolling, recording visits and completions. Idempotent: repeating an action changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from blinker import Namespace
from sqlalchemy import String, bindparam, cast, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.catalog.models import Course, Item
from lms.catalog.services import Outline, OutlineItem, OutlineModule, get_outlines
from lms.db import utcnow
from lms.enrollments.models import COMPLETION_HOWS, TRACKS, Enrollment, ItemCompletion
from lms.errors import Conflict, DomainError, NotFound

signals = Namespace()
# Sent inside the transaction that records the completion; progress and (later) credentials
# subscribe, so whatever they do commits or rolls back with it.
item_completed = signals.signal("item-completed")
enrolled = signals.signal("enrolled")
# An enrollment moved from the audit to the credential track (credentials: issue if nothing else blocks).
track_changed = signals.signal("track-changed")


class UnknownTrack(DomainError):
    pass


class PrerequisitesNotMet(Conflict):
    def __init__(self, unmet: list[UnmetPrerequisite]):
        names = " and ".join(f"“{u.title}” ({u.percent}% done)" if u.enrolled else f"“{u.title}”" for u in unmet)
        super().__init__(f"Complete {names} first, then enroll in this course.")
        self.unmet = unmet


@dataclass(frozen=True)
class UnmetPrerequisite:
    """A course to complete before enrolling in another, and how far the learner is in it."""
    slug: str
    title: str
    enrolled: bool
    percent: int


def unmet_prerequisites(db: Session, user_id: int | None, course: Course) -> list[UnmetPrerequisite]:
    """The course's prerequisite courses the learner has not completed (every step done), in the order
    course.yml lists them. One statement (plus the outlines on a cold cache); none without prerequisites.
    A prerequisite that is not (or no longer) in the catalog locks nothing."""
    wanted = list(course.prerequisites or ())
    if not wanted:
        return []
    rows = db.execute(
        select(Course.id, Course.slug, Course.title, Course.content_hash, Enrollment.id,
               completed_ids_subquery(Enrollment.id))
        .outerjoin(Enrollment, (Enrollment.course_id == Course.id) & (Enrollment.user_id == (user_id or -1)))
        .where(Course.slug.in_(wanted), Course.retired_at.is_(None))).all()
    outlines = get_outlines(db, [(row[0], row[3]) for row in rows])
    unmet = {}
    for course_id, slug, title, _hash, enrollment_id, done_list in rows:
        outline = outlines[course_id]
        progress = summarize(outline, parse_completed_ids(done_list), None)
        if not (progress.total and progress.done == progress.total):
            unmet[slug] = UnmetPrerequisite(slug, title, enrollment_id is not None, progress.percent)
    return [unmet[slug] for slug in wanted if slug in unmet]


def enroll(db: Session, user_id: int, course: Course, track: str = "credential") -> Enrollment:
    """Enroll a learner (or return the existing enrollment; a repeated click changes nothing).

    Refused with ``PrerequisitesNotMet`` while a prerequisite course is not complete."""
    if track not in TRACKS:
        raise UnknownTrack(f"Choose a track: {' or '.join(TRACKS)}.")
    existing = get_enrollment(db, user_id, course.id)
    if existing is not None:
        return existing
    unmet = unmet_prerequisites(db, user_id, course)
    if unmet:
        raise PrerequisitesNotMet(unmet)
    enrollment = Enrollment(user_id=user_id, course_id=course.id, track=track)
    db.add(enrollment)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:  # a concurrent request enrolled first: answer with its row
        existing = get_enrollment(db, user_id, course.id)
        if existing is None:
            raise
        return existing
    enrolled.send(db, enrollment=enrollment)
    return enrollment


def switch_to_credential_track(db: Session, user_id: int, course_id: int) -> bool:
    """Move an audit enrollment to the credential track, keeping every completion and attempt. Returns
    False when it already was on it. Sends ``track_changed`` in the transaction, so a learner who has
    already passed everything the credential asks for is issued it with the switch."""
    changed = db.execute(update(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id,
                                                  Enrollment.track == "audit")
                         .values(track="credential", last_activity_at=utcnow())
                         .execution_options(synchronize_session=False)).rowcount
    if not changed:
        if get_enrollment(db, user_id, course_id) is None:
            raise NotFound("You are not enrolled in this course.")
        return False
    enrollment = get_enrollment(db, user_id, course_id)
    db.refresh(enrollment)
    track_changed.send(db, enrollment=enrollment)
    return True


def get_enrollment(db: Session, user_id: int, course_id: int) -> Enrollment | None:
    return db.scalar(select(Enrollment).where(Enrollment.user_id == user_id, Enrollment.course_id == course_id))


def record_visit(db: Session, enrollment_id: int, item_id: int) -> None:
    """Remember the item opened last, so "Continue" brings the learner back to it."""
    db.execute(Enrollment.__table__.update().where(Enrollment.id == enrollment_id)
               .values(last_item_id=item_id, last_activity_at=utcnow()))


_COMPLETION_CHECK = (
    select(Item.course_id, Item.retired_at, Enrollment.course_id,
           select(ItemCompletion.id).where(ItemCompletion.enrollment_id == Enrollment.id,
                                           ItemCompletion.item_id == Item.id).scalar_subquery())
    .select_from(Item).join(Enrollment, Enrollment.id == bindparam("enrollment_id"))  # (one row of each)
    .where(Item.id == bindparam("item_id"))
)


def complete_item(db: Session, enrollment_id: int, item_id: int, how: str = "read") -> bool:
    """Record that an item is done. Returns False if it already was (nothing changes then)."""
    if how not in COMPLETION_HOWS:
        raise ValueError(f"unknown completion kind {how!r}")
    row = db.execute(_COMPLETION_CHECK, {"item_id": item_id, "enrollment_id": enrollment_id}).first()
    if row is None or row[0] != row[2] or row[1] is not None:
        raise NotFound("This item is not part of the course you are enrolled in.")
    if row[3] is not None:
        return False
    try:
        with db.begin_nested():
            db.add(ItemCompletion(enrollment_id=enrollment_id, item_id=item_id, how=how))
            db.flush()
    except IntegrityError:  # the same click twice at once: the other request recorded it
        return False
    db.execute(update(Enrollment).where(Enrollment.id == enrollment_id).values(last_activity_at=utcnow())
               .execution_options(synchronize_session=False))
    item_completed.send(db, enrollment_id=enrollment_id, item_id=item_id, course_id=row[0], how=how)
    return True


def test_out_module(db: Session, enrollment_id: int, placement_item_id: int) -> list[int]:
    """Record the module of a passed placement quiz as mastered: each of its current steps (lessons and
    module quizzes) not yet done is completed ``how="tested_out"``, and the placement quiz itself
    ``how="passed"``. Returns the ids of the steps it completed (none when all were done already)."""
    module_id = select(Item.module_id).where(Item.id == placement_item_id).scalar_subquery()
    step_ids = db.scalars(
        select(Item.id).where(Item.module_id == module_id, Item.retired_at.is_(None),
                              Item.kind.in_(("lesson", "quiz")),
                              (Item.quiz_role.is_(None)) | (Item.quiz_role == "module"))
        .order_by(Item.position)).all()
    completed = [item_id for item_id in step_ids if complete_item(db, enrollment_id, item_id, "tested_out")]
    complete_item(db, enrollment_id, placement_item_id, "passed")
    return completed


def uncomplete_item(db: Session, enrollment_id: int, item_id: int) -> bool:
    """Undo a "mark as done" on a lesson (assessments are never undone this way)."""
    completion = db.scalar(select(ItemCompletion).join(Item, Item.id == ItemCompletion.item_id).where(
        ItemCompletion.enrollment_id == enrollment_id, ItemCompletion.item_id == item_id,
        ItemCompletion.how == "read", Item.kind == "lesson"))
    if completion is None:
        return False
    db.delete(completion)
    return True


def completed_ids_subquery(enrollment_id_column, how: str | None = None):
    """A column of completed item ids ("3,7,9", or NULL) for the enrollment in the outer query (only
    those completed ``how``, e.g. "passed", when given).

    Lets a page read an enrollment and its completions in one statement (group_concat on SQLite,
    string_agg on PostgreSQL); parse it with ``parse_completed_ids``.
    """
    stmt = (select(func.aggregate_strings(cast(ItemCompletion.item_id, String), ","))
            .where(ItemCompletion.enrollment_id == enrollment_id_column))
    if how is not None:
        stmt = stmt.where(ItemCompletion.how == how)
    return stmt.scalar_subquery()


def updated_since_read_subquery(enrollment_id_column):
    """A column of the ids ("3,7") of lessons the enrollment read before a sync last changed them
    ("updated since you read it"); reading one again clears it (``mark_reread``)."""
    return (select(func.aggregate_strings(cast(ItemCompletion.item_id, String), ","))
            .join(Item, Item.id == ItemCompletion.item_id)
            .where(ItemCompletion.enrollment_id == enrollment_id_column, ItemCompletion.how == "read",
                   Item.updated_at > ItemCompletion.completed_at)
            .scalar_subquery())


def updated_since_read(db: Session, enrollment_id: int) -> set[int]:
    return parse_completed_ids(db.scalar(select(updated_since_read_subquery(enrollment_id))))


def mark_reread(db: Session, enrollment_id: int, item_id: int) -> None:
    """The learner opened a lesson that changed since they read it: the completion now dates from this
    reading (it stays a completion; only the "updated" mark goes)."""
    db.execute(update(ItemCompletion).where(ItemCompletion.enrollment_id == enrollment_id,
                                            ItemCompletion.item_id == item_id, ItemCompletion.how == "read")
               .values(completed_at=utcnow()).execution_options(synchronize_session=False))


def parse_completed_ids(aggregated: str | None) -> set[int]:
    return {int(item_id) for item_id in aggregated.split(",")} if aggregated else set()


_COMPLETED_QUERY = select(ItemCompletion.enrollment_id, ItemCompletion.item_id).where(
    ItemCompletion.enrollment_id.in_(bindparam("enrollment_ids", expanding=True)))


def completed_item_ids(db: Session, enrollment_ids: list[int]) -> dict[int, set[int]]:
    """Completed item ids per enrollment, for many enrollments in one query."""
    done: dict[int, set[int]] = {eid: set() for eid in enrollment_ids}
    if enrollment_ids:
        for enrollment_id, item_id in db.connection().execute(_COMPLETED_QUERY, {"enrollment_ids": enrollment_ids}):
            done[enrollment_id].add(item_id)
    return done


# -- progress of one enrollment -----------------------------------------------------------------


@dataclass(frozen=True)
class ModuleLock:
    """A module that does not open yet, and the prerequisite modules still to complete."""
    module: OutlineModule
    waiting_for: tuple[OutlineModule, ...]


def module_complete(module: OutlineModule, done_ids: set[int]) -> bool:
    """Every step of the module done (read, passed or tested out). A module without steps is complete."""
    return all(step.id in done_ids for step in module.steps)


def module_locks(outline: Outline, done_ids: set[int]) -> dict[int, ModuleLock]:
    """The locked modules by id (empty for a course without prerequisites, the usual case: no work).

    A module is locked while one of its prerequisites is not complete and it is not complete itself;
    locks chain, since a locked module is not complete either (unless tested out). Prerequisites naming
    a module that is gone from the course (retired) lock nothing.
    """
    if not outline.has_prerequisites:
        return {}
    locks = {}
    for module in outline.modules:
        if module.steps and module_complete(module, done_ids):
            continue  # done already (tested out, say): nothing in it is kept from the learner
        waiting = tuple(outline.modules_by_slug[slug] for slug in module.prerequisites
                        if slug in outline.modules_by_slug
                        and not module_complete(outline.modules_by_slug[slug], done_ids))
        if waiting:
            locks[module.id] = ModuleLock(module, waiting)
    return locks


def item_lock(outline: Outline, locks: dict[int, ModuleLock], item: OutlineItem) -> ModuleLock | None:
    """The lock that keeps an item closed, if any. A placement quiz is never locked: it is the way past."""
    if not locks or item.quiz_role == "placement":
        return None
    module = outline.module_of.get(item.id)
    return locks.get(module.id) if module is not None else None


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    next_step: OutlineItem | None  # None when every step is done (or every open one: see locks)
    locks: dict[int, ModuleLock] = field(default_factory=dict)  # the modules that do not open yet
    # Floor, so 100% is shown only when everything is done.
    percent: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "percent", (self.done * 100) // self.total if self.total else 0)

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.done == self.total


def summarize(outline: Outline, done_ids: set[int], last_item_id: int | None) -> Progress:
    """Percent done and the next step: the first unfinished open step from the last one opened
    onwards, else the first unfinished open step of the course. (Runs for every course on the dashboard.)"""
    steps = outline.steps
    done = len(outline.step_ids & done_ids)
    locks = module_locks(outline, done_ids)
    next_step = None
    if done < len(steps):
        def open_and_undone(step: OutlineItem) -> bool:
            return step.id not in done_ids and (not locks or item_lock(outline, locks, step) is None)

        start = outline.step_index.get(last_item_id, 0)
        next_step = next((step for step in steps[start:] if open_and_undone(step)), None) or next(
            (step for step in steps[:start] if open_and_undone(step)), None)
    return Progress(done=done, total=len(steps), next_step=next_step, locks=locks)
