"""Who hears about capstones: the learner when a version is graded, the course's graders when one
enters their queue, and each grader once a day about the oldest work waiting for them.

Connected to the capstone signals on import (``lms.register_signal_handlers``). The signals are sent
inside the submit and grade transactions, so the notification and its email commit or roll back
with the change that caused them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from lms.auth.models import CourseRole, User
from lms.capstones import services
from lms.capstones.models import Review, Submission, is_waiting
from lms.capstones.paths import capstone_path, submission_path
from lms.catalog.models import Course
from lms.enrollments.models import Enrollment
from lms.jobs import JobContext, enqueue, periodic
from lms.notifications.services import EMAIL_JOB, notify

OUTCOME_WORDS = {
    "passed": "passed",
    "needs_revision": "needs revision",
    "not_passed": "not passed",
}
DIGEST_ITEMS = 5  # the oldest waiting versions listed in a grader's digest
DIGEST_HOUR = timedelta(hours=7)  # the digest goes out at 07:00 UTC


def _course(db: Session, course_id: int) -> tuple[str, str]:
    return db.execute(select(Course.slug, Course.title).where(Course.id == course_id)).one()


def course_graders(db: Session, course_id: int) -> list[int]:
    """Who is told about new work: the course's graders, or its instructors when it has no grader."""
    rows = db.execute(select(CourseRole.user_id, CourseRole.role).where(CourseRole.course_id == course_id)).all()
    graders = sorted({user_id for user_id, role in rows if role == "grader"})
    return graders or sorted({user_id for user_id, role in rows if role == "instructor"})


@services.capstone_submitted.connect
def tell_graders(db: Session, submission: Submission, course_id: int) -> None:
    slug, title = _course(db, course_id)
    learner_id = db.scalar(select(Enrollment.user_id).where(Enrollment.id == submission.enrollment_id))
    record = services.live_capstone(db, course_id)
    who = (services.pseudonym(submission.enrollment_id) if services.is_blind(record.capstone)
           else services.user_name(db, learner_id))
    what = "A revised capstone" if submission.version > 1 else "A capstone"
    for grader_id in course_graders(db, course_id):
        if grader_id == learner_id:
            continue  # nobody grades their own work
        notify(db, grader_id, "submission_queued", f"{what} to grade in {title}",
               f"{who} submitted version {submission.version} of their capstone for {title}. "
               "It is waiting in your grading queue.",
               link=submission_path(slug, submission.id))


@services.capstone_graded.connect
def tell_learner(db: Session, submission: Submission, review: Review) -> None:
    slug, title = _course(db, submission.course_id)
    learner_id = db.scalar(select(Enrollment.user_id).where(Enrollment.id == submission.enrollment_id))
    outcome = OUTCOME_WORDS[review.outcome]
    lines = [f"Your capstone for {title} (version {submission.version}) was graded: {outcome}, "
             f"{review.points:g} of {review.max_points:g} points."]
    if review.outcome == "needs_revision":
        lines.append("Read the grader's feedback, then start a revision from the capstone page.")
    elif review.outcome == "passed":
        lines.append("Well done. You can share it publicly from the capstone page if you wish.")
    if review.comment:
        lines.append(f"The grader wrote:\n\n{review.comment}")
    notify(db, learner_id, "submission_graded", f"Your capstone for {title} was graded: {outcome}",
           "\n\n".join(lines), link=capstone_path(slug))


# -- the daily digest -----------------------------------------------------------------------------------

def digests(db: Session, now: datetime) -> dict[int, tuple[int, list[tuple[str, str, int, datetime]]]]:
    """For each grader with work waiting: (how many versions wait, the oldest few as
    (course slug, course title, submission id, submitted at)). Three statements in all."""
    waiting = is_waiting() & or_(Submission.state == "submitted", Submission.claim_expires_at <= now)
    per_course = dict(db.execute(select(Submission.course_id, func.count(Submission.id))
                                 .where(waiting).group_by(Submission.course_id)).all())
    if not per_course:
        return {}
    rank = func.row_number().over(partition_by=Submission.course_id,
                                  order_by=(Submission.submitted_at, Submission.id)).label("rank")
    ranked = (select(Submission.course_id, Submission.id, Submission.submitted_at, rank)
              .where(waiting).subquery())
    oldest: dict[int, list] = {}
    for course_id, slug, title, submission_id, submitted_at in db.execute(
            select(ranked.c.course_id, Course.slug, Course.title, ranked.c.id, ranked.c.submitted_at)
            .join(Course, Course.id == ranked.c.course_id).where(ranked.c.rank <= DIGEST_ITEMS)):
        oldest.setdefault(course_id, []).append((slug, title, submission_id, submitted_at))
    roles: dict[int, dict[str, set[int]]] = {}
    for course_id, user_id, role in db.execute(
            select(CourseRole.course_id, CourseRole.user_id, CourseRole.role)
            .join(User, User.id == CourseRole.user_id)
            .where(CourseRole.course_id.in_(per_course), User.deleted_at.is_(None))):
        roles.setdefault(course_id, {}).setdefault(role, set()).add(user_id)
    result: dict[int, tuple[int, list]] = {}
    for course_id, count in per_course.items():
        course_roles = roles.get(course_id, {})
        for grader_id in course_roles.get("grader") or course_roles.get("instructor") or ():
            total, items = result.get(grader_id, (0, []))
            result[grader_id] = (total + count, items + oldest.get(course_id, []))
    return {grader_id: (total, sorted(items, key=lambda item: (item[3], item[2]))[:DIGEST_ITEMS])
            for grader_id, (total, items) in result.items()}


def digest_text(total: int, items: list[tuple[str, str, int, datetime]], now: datetime, base_url: str) -> str:
    head = f"{total} capstone version{'s' if total != 1 else ''} {'are' if total != 1 else 'is'} waiting for a grader."
    lines = [head, "", "The oldest:"]
    for slug, title, submission_id, submitted_at in items:
        waited = services.waiting_time(submitted_at, now)
        lines.append(f"- {title}, waiting {waited}: {base_url}{submission_path(slug, submission_id)}")
    return "\n".join(lines)


@periodic("capstones.grader_digest", every=timedelta(days=1), offset=DIGEST_HOUR)
def send_grader_digests(ctx: JobContext, period_start: datetime) -> None:
    """One email job per grader (so one bad address is retried alone); an email only, the queue
    page being the in-app view. The email job checks each grader's choice when it sends."""
    for grader_id, (total, items) in sorted(digests(ctx.db, ctx.now).items()):
        enqueue(ctx.db, EMAIL_JOB, {
            "user_id": grader_id, "kind": "grader_digest",
            "title": f"Grading digest: {total} capstone version{'s' if total != 1 else ''} waiting",
            "body": digest_text(total, items, ctx.now, ctx.settings.public_url),
            "link": "/grading",
        })
