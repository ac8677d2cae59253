"""The course dashboard's figures: computed with aggregate queries, stored as one snapshot per course.

``compute(db, outline, now)`` runs a fixed number of GROUP BY statements (eight, or six for a course
without a capstone or credential) however many learners, completions, attempts, submissions and
credentials the course has, and returns plain JSON: the shape stored in ``course_stats.data``
(``SNAPSHOT_VERSION`` names it; a snapshot of another version is treated as missing). Nothing here
loads one row per learner into Python.

Definitions (the dashboard's page says them in words):
- a learner's progress is the share of the course's current steps (the outline's ``steps``: lessons,
  module quizzes and the capstone) they completed, floored to a whole percent, as on their own dashboard;
- a module is completed when every current step of it is completed (a module without steps counts as
  completed by everyone, as ``enrollments.services.module_complete`` says);
- a learner is at risk when they have not been active for ``AT_RISK_IDLE`` (14 days) and their
  progress is under 50%: floor(100 * done / total) < 50, which is exactly 2 * done < total;
- quiz facility is the mean score of the submitted, fully scored attempts as a share of their points
  (every attempt counts, as in the item analysis); the pass rate is the share of the learners who
  submitted an attempt that passed at least once;
- time to grade runs from a version's submission to its review.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, distinct, extract, false, func, or_, select
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.capstones.models import Review, Submission
from lms.catalog.services import Outline
from lms.credentials.models import Achievement, Credential
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.quizzes.models import QuizAttempt
from lms.reports.weeks import count_per_week, week_starts

SNAPSHOT_VERSION = 1
WEEKS = 12  # enrollments and credentials per week: the last twelve calendar weeks (Monday 00:00 UTC)
ACTIVE_WINDOW = timedelta(days=7)  # "active this week": any activity in the last seven days
AT_RISK_IDLE = timedelta(days=14)
SUBMISSION_STATES = ("draft", "submitted", "in_review", "needs_revision", "passed", "not_passed")


# -- learners and progress -----------------------------------------------------------------------

def done_count(step_ids):
    """The number of the given steps the enrollment of the outer query has completed (a scalar subquery)."""
    return (select(func.count()).select_from(ItemCompletion)
            .where(ItemCompletion.enrollment_id == Enrollment.id, ItemCompletion.item_id.in_(list(step_ids)))
            .scalar_subquery())


def at_risk_conditions(course_id: int, outline: Outline, now: datetime) -> list:
    """WHERE conditions on enrollments (joined to users) selecting the course's learners at risk.

    The idle condition is a range on the (course_id, last_activity_at) index; the progress condition is
    a count of each candidate's completions through the completions' enrollment index. A course without
    steps has nobody at risk (there is no progress to fall behind in)."""
    total = len(outline.steps)
    if total == 0:
        return [false()]
    return [Enrollment.course_id == course_id, Enrollment.last_activity_at <= now - AT_RISK_IDLE,
            User.deleted_at.is_(None), done_count(outline.step_ids) * 2 < total]


def percent(done: int, total: int) -> int:
    """Progress as the learner sees it: floored, so 100% only when everything is done."""
    return (done * 100) // total if total else 0


def is_at_risk(done: int, total: int, last_activity_at: datetime, now: datetime) -> bool:
    """The rule of ``at_risk_conditions`` for one learner, in Python (tests and documentation)."""
    return total > 0 and last_activity_at <= now - AT_RISK_IDLE and percent(done, total) < 50


def _learners(db: Session, course_id: int, outline: Outline, now: datetime) -> dict:
    total, credential, active = db.execute(
        select(func.count(), func.count().filter(Enrollment.track == "credential"),
               func.count().filter(Enrollment.last_activity_at >= now - ACTIVE_WINDOW))
        .where(Enrollment.course_id == course_id)).one()
    at_risk = db.scalar(select(func.count()).select_from(Enrollment).join(User, User.id == Enrollment.user_id)
                        .where(*at_risk_conditions(course_id, outline, now)))
    return {"total": total, "credential_track": credential, "active_7d": active, "at_risk": at_risk}


def _funnel(db: Session, outline: Outline, learners: int) -> list[dict]:
    """Per module, the learners who completed every current step of it: one statement."""
    steps = {m.id: [s.id for s in m.steps] for m in outline.modules}
    step_ids = [sid for ids in steps.values() for sid in ids]
    completed: dict[int, int] = {}
    if step_ids:
        module_of = case({sid: mid for mid, ids in steps.items() for sid in ids}, value=ItemCompletion.item_id)
        per_learner = (select(ItemCompletion.enrollment_id, module_of.label("module_id"), func.count().label("n"))
                       .where(ItemCompletion.item_id.in_(step_ids))
                       .group_by(ItemCompletion.enrollment_id, module_of).subquery())
        needed = case({mid: len(ids) for mid, ids in steps.items() if ids}, value=per_learner.c.module_id)
        completed = dict(db.execute(select(per_learner.c.module_id, func.count())
                                    .where(per_learner.c.n == needed).group_by(per_learner.c.module_id)).all())
    return [{"id": m.id, "number": n, "title": m.title, "steps": len(steps[m.id]),
             "completed": completed.get(m.id, 0) if steps[m.id] else learners}
            for n, m in enumerate(outline.modules, start=1)]


def _quizzes(db: Session, outline: Outline) -> list[dict]:
    """Per quiz: submitted attempts, mean score share, learners who attempted and who passed. One statement."""
    quizzes = [item for item in outline.items if item.kind == "quiz"]
    if not quizzes:
        return []
    scored = and_(QuizAttempt.points_possible > 0, QuizAttempt.pending == 0, QuizAttempt.points_earned.is_not(None))
    rows = db.execute(
        select(QuizAttempt.quiz_item_id, func.count(),
               func.avg(case((scored, QuizAttempt.points_earned / QuizAttempt.points_possible))),
               func.count(distinct(QuizAttempt.enrollment_id)),
               func.count(distinct(case((QuizAttempt.passed.is_(True), QuizAttempt.enrollment_id)))))
        .where(QuizAttempt.quiz_item_id.in_([q.id for q in quizzes]), QuizAttempt.state == "submitted")
        .group_by(QuizAttempt.quiz_item_id)).all()
    found = {item_id: (attempts, mean, learners, passed) for item_id, attempts, mean, learners, passed in rows}
    out = []
    for quiz in quizzes:
        attempts, mean, learners, passed = found.get(quiz.id, (0, None, 0, 0))
        out.append({"id": quiz.id, "number": quiz.number, "title": quiz.title, "role": quiz.quiz_role or "module",
                    "url": quiz.url, "attempts": attempts, "learners": learners, "passed": passed,
                    "facility": None if mean is None else round(float(mean) * 100, 1),
                    "pass_rate": round(100 * passed / learners, 1) if learners else None})
    return out


def _seconds_between(db: Session, later, earlier):
    if db.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return extract("epoch", later - earlier)


def _capstone(db: Session, outline: Outline) -> dict | None:
    """Versions per state, and the count, mean and median of the hours from submission to review (two statements)."""
    capstone = outline.capstone
    if capstone is None:
        return None
    states = dict(db.execute(select(Submission.state, func.count()).where(Submission.item_id == capstone.id)
                             .group_by(Submission.state)).all())
    duration = _seconds_between(db, Review.graded_at, Submission.submitted_at).label("d")
    ranked = (select(duration, func.row_number().over(order_by=duration).label("rn"),
                     func.count().over().label("n"))
              .select_from(Review).join(Submission, Submission.id == Review.submission_id)
              .where(Submission.item_id == capstone.id).subquery())
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    graded, mean, median = db.execute(
        select(func.count(), func.avg(ranked.c.d), func.avg(case((middle, ranked.c.d))))).one()
    return {"id": capstone.id, "title": capstone.title, "url": capstone.url,
            "states": {state: states.get(state, 0) for state in SUBMISSION_STATES},
            "graded": graded,
            "mean_hours": None if mean is None else round(float(mean) / 3600, 1),
            "median_hours": None if median is None else round(float(median) / 3600, 1)}


def _per_week(db: Session, column, *conditions, now: datetime) -> list[int]:
    return [week.count for week in count_per_week(db, column, *conditions, now=now, weeks=WEEKS)]


def _credentials(db: Session, course_id: int, now: datetime) -> dict | None:
    achievement_id = db.scalar(select(Achievement.id).where(Achievement.course_id == course_id))
    if achievement_id is None:
        return None
    issued, current = db.execute(
        select(func.count(), func.count().filter(Credential.revoked_at.is_(None), Credential.superseded_at.is_(None)))
        .where(Credential.achievement_id == achievement_id)).one()
    weeks = _per_week(db, Credential.issued_at, Credential.achievement_id == achievement_id, now=now)
    return {"issued": issued, "current": current, "weeks": weeks}


def compute(db: Session, outline: Outline, now: datetime) -> dict:
    """Every figure of the dashboard of ``outline``'s course as of ``now``: the snapshot's ``data``."""
    course_id = outline.course_id
    learners = _learners(db, course_id, outline, now)
    enrolled = _per_week(db, Enrollment.enrolled_at, Enrollment.course_id == course_id, now=now)
    return {
        "v": SNAPSHOT_VERSION,
        "content_hash": outline.content_hash,
        "steps": len(outline.steps),
        "learners": learners,
        "weeks": [start.date().isoformat() for start in week_starts(now, WEEKS)],
        "enrolled": enrolled,
        "funnel": _funnel(db, outline, learners["total"]),
        "quizzes": _quizzes(db, outline),
        "capstone": _capstone(db, outline),
        "credentials": _credentials(db, course_id, now),
    }
