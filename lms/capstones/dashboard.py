"""The grader dashboard: per graded course, how many versions wait and since when; the grader's own
graded count per week.

Every figure is an aggregate computed by the database (GROUP BY, COUNT, MIN), so the page runs the
same few statements however many submissions and reviews there are (weeks: lms/reports/weeks.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from lms.auth.models import CourseRole
from lms.capstones.models import Review, Submission, is_waiting
from lms.capstones.services import GradedCourses, waiting_time
from lms.catalog.models import Course
from lms.db import utcnow
from lms.reports.weeks import WeekCount, count_per_week

WEEKS = 8  # the grader's own throughput: the last eight calendar weeks


# -- the grader dashboard ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CourseBacklog:
    """One graded course's queue. "Waiting" is what the queue's default filter lists: submitted
    versions and those whose claim has expired; "in review" are claimed, the claim still running."""
    id: int
    slug: str
    title: str
    waiting: int
    in_review: int
    oldest_waiting_at: datetime | None  # submitted_at of the oldest waiting version

    def oldest_waiting(self, now: datetime) -> str | None:
        """"3 days", as the queue says how long a version has waited."""
        return None if self.oldest_waiting_at is None else waiting_time(self.oldest_waiting_at, now)


@dataclass(frozen=True)
class GraderDashboard:
    courses: tuple[CourseBacklog, ...]
    weeks: tuple[WeekCount, ...]  # the grader's own reviews per week, oldest first
    now: datetime

    @property
    def waiting(self) -> int:
        return sum(c.waiting for c in self.courses)

    @property
    def in_review(self) -> int:
        return sum(c.in_review for c in self.courses)

    @property
    def graded(self) -> int:
        return sum(w.count for w in self.weeks)

    @property
    def oldest(self) -> CourseBacklog | None:
        waiting = [c for c in self.courses if c.oldest_waiting_at is not None]
        return min(waiting, key=lambda c: c.oldest_waiting_at) if waiting else None


_NOW = bindparam("now", type_=Submission.claim_expires_at.type)
_CLAIM_ACTIVE = and_(Submission.state == "in_review", Submission.claim_expires_at > _NOW)
_WAITING = or_(Submission.state == "submitted", Submission.claim_expires_at <= _NOW)
_LIVE_COURSES = select(Course.id).where(Course.retired_at.is_(None))
_SCOPES = {
    "all": Submission.course_id.in_(_LIVE_COURSES),
    "roles": Submission.course_id.in_(
        _LIVE_COURSES.join(CourseRole, CourseRole.course_id == Course.id)
        .where(CourseRole.user_id == bindparam("user_id"),
               or_(CourseRole.role == "grader", CourseRole.role == "instructor"))),
}
# Reads the partial index of waiting versions (ix_submissions_waiting), which holds course, state,
# claim and submitted_at: the counts never touch the table itself.
_BACKLOG = {
    scope: select(Submission.course_id, func.count().filter(_WAITING), func.count().filter(_CLAIM_ACTIVE),
                  func.min(Submission.submitted_at).filter(_WAITING))
    .where(is_waiting(), condition).group_by(Submission.course_id)
    for scope, condition in _SCOPES.items()
}


def backlog(db: Session, user_id: int | None, now: datetime) -> dict[int, tuple[int, int, datetime | None]]:
    """Per course id: (waiting, in review, oldest waiting submitted_at), for the courses ``user_id``
    grades or instructs (``None``: every live course, as admins see it). One statement."""
    statement = _BACKLOG["all" if user_id is None else "roles"]
    rows = db.execute(statement, {"now": now, "user_id": user_id}).all()
    return {course_id: (waiting, in_review, oldest) for course_id, waiting, in_review, oldest in rows}


def grader_dashboard(db: Session, user_id: int, courses: GradedCourses, *, is_admin: bool = False,
                     now: datetime | None = None) -> GraderDashboard:
    """The dashboard of one grader: ``courses`` are theirs (``capstones.services.graded_courses``;
    every live course for an admin), their throughput is the reviews they graded themselves."""
    now = now or utcnow()
    counts = backlog(db, None if is_admin else user_id, now)
    rows = tuple(CourseBacklog(c.id, c.slug, c.title, *counts.get(c.id, (0, 0, None))) for c in courses)
    weeks = count_per_week(db, Review.graded_at, Review.grader_id == user_id, now=now, weeks=WEEKS)
    return GraderDashboard(rows, weeks, now)
