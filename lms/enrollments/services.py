"""Enrolling, recording visits and completions. Idempotent: repeating an action changes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from blinker import Namespace
from sqlalchemy import String, bindparam, cast, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.catalog.models import Course, Item
from lms.catalog.services import Outline, OutlineItem
from lms.db import utcnow
from lms.enrollments.models import COMPLETION_HOWS, TRACKS, Enrollment, ItemCompletion
from lms.errors import DomainError, NotFound

signals = Namespace()
# Sent inside the transaction that records the completion; progress and (later) credentials
# subscribe, so whatever they do commits or rolls back with it.
item_completed = signals.signal("item-completed")
enrolled = signals.signal("enrolled")


class UnknownTrack(DomainError):
    pass


def enroll(db: Session, user_id: int, course: Course, track: str = "credential") -> Enrollment:
    """Enroll a learner (or return the existing enrollment; a repeated click changes nothing)."""
    if track not in TRACKS:
        raise UnknownTrack(f"Choose a track: {' or '.join(TRACKS)}.")
    existing = get_enrollment(db, user_id, course.id)
    if existing is not None:
        return existing
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
class Progress:
    done: int
    total: int
    next_step: OutlineItem | None  # None when every step is done
    # Floor, so 100% is shown only when everything is done.
    percent: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "percent", (self.done * 100) // self.total if self.total else 0)


def summarize(outline: Outline, done_ids: set[int], last_item_id: int | None) -> Progress:
    """Percent done and the next step: the first unfinished step from the last one opened onwards,
    else the first unfinished step of the course. (Runs for every course on the dashboard.)"""
    steps = outline.steps
    done = len(outline.step_ids & done_ids)
    next_step = None
    if done < len(steps):
        start = outline.step_index.get(last_item_id, 0)
        next_step = next((step for step in steps[start:] if step.id not in done_ids), None) or next(
            (step for step in steps[:start] if step.id not in done_ids), None)
    return Progress(done=done, total=len(steps), next_step=next_step)
