"""Demo course reviews for `make run`: a few reviews of each demo course, with varied ratings and
texts, and one reply by the courses' instructor. Development only: called from lms/demo.py after the
demo capstones and credentials (a review needs the course completed).

Every review goes through lms.course_reviews.services, so each reviewer really completed the course
and the courses' rating summaries stay right. Two demo learners qualify as lms/demo.py leaves them
(Sam and Amara: every lesson read, every quiz passed, the capstone passed). The others below audit a
course they are not enrolled in: they enroll on the audit track, read every lesson and pass every
module quiz through the quiz services (lms/quizzes/demo.py), which is all the audit track asks.
Idempotent: an existing review is left as it is, and a second load adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.catalog.models import Course
from lms.catalog.services import get_outline
from lms.course_reviews import services
from lms.db import utcnow
from lms.enrollments import services as enrollments
from lms.quizzes.demo import pass_quiz

REPLIED_BY = "instructor@example.com"


@dataclass(frozen=True)
class DemoReview:
    email: str
    course: str
    rating: int
    days_ago: float
    body: str
    # "audit": the learner is not enrolled in the course; they audit it to the end before reviewing.
    # None: they must have completed it already (lms/demo.py's progress), else no review is written.
    audits: str | None = None
    reply: str | None = None


DEMO_REVIEWS = [
    DemoReview("sam@example.com", "python-data-analysis", 5, 8, (
        "The best hands-on introduction to pandas I have found. Every lesson ends with something you run "
        "yourself, and the cleaning module is worth the course on its own.\n\n"
        "The capstone took me a weekend. The grader's feedback on my charts was specific and kind.")),
    DemoReview("jonas@example.com", "python-data-analysis", 3, 4, (
        "Good content, but the setup lesson assumes you already have Python installed. I lost an evening "
        "on a Windows PATH problem before I could open the first notebook.\n\n"
        "Once I was running, the pace was fine. The pivot table lesson could use one more worked example."),
        audits="audit", reply=(
        "Thank you, Jonas: the setup lesson now has a section for Windows, with the PATH fix and a link to "
        "the installer that sets it for you. A second pivot table example is coming in the next version.")),
    DemoReview("amara@example.com", "web-accessibility-essentials", 5, 30, (
        "I use what I learned here every week at work. The screen reader lesson finally made me test with "
        "NVDA instead of guessing, and the form labelling checklist is pinned above my desk.")),
    DemoReview("tom@example.com", "web-accessibility-essentials", 4, 6, (
        "Clear and practical. I would have liked more about accessible data tables and charts, which are "
        "most of what I build. The colour contrast lesson was an eye-opener."), audits="audit"),
    DemoReview("priya@example.com", "sql-fundamentals", 4, 5, (
        "Joins finally clicked for me with the orders-and-customers examples. The window functions module "
        "is dense: I did the exercises twice. Worth it."), audits="audit"),
    DemoReview("mei@example.com", "sql-fundamentals", 5, 1.5, (
        "Short, focused and honest about what it covers. I went from copying queries off Stack Overflow to "
        "writing my own reports with `GROUP BY` and CTEs in a week."), audits="audit"),
]


def load_demo_course_reviews(db: Session, now: datetime | None = None) -> list[str]:
    """Write the demo reviews and the reply (those not written yet); returns the lines to print."""
    now = now or utcnow()
    courses = {c.slug: c for c in db.scalars(select(Course).where(Course.retired_at.is_(None)))}
    users = {u.email: u for u in db.scalars(select(User).where(User.email.in_(
        [r.email for r in DEMO_REVIEWS] + [REPLIED_BY])))}
    instructor = users.get(REPLIED_BY)
    present, skipped = [], []
    for demo in DEMO_REVIEWS:
        course, user = courses.get(demo.course), users.get(demo.email)
        if course is None or user is None:
            continue
        moment = now - timedelta(days=demo.days_ago)
        review = services.own_review(db, user.id, course.id)
        if review is None:
            if demo.audits and enrollments.get_enrollment(db, user.id, course.id) is None:
                _audit_to_the_end(db, user.id, course, moment - timedelta(days=1))
            if not services.learner_completion(db, user.id, course).complete:
                skipped.append(f"  {demo.email} has not completed {demo.course}: no review")
                continue
            review = services.save_review(db, user.id, course, demo.rating, demo.body, moment).review
        if demo.reply and review.reply is None and instructor is not None:
            services.reply(db, instructor.id, review.id, demo.reply, moment + timedelta(hours=5), course_id=course.id)
        present.append(demo.course)
    db.flush()
    if not present and not skipped:
        return []
    pages = ", ".join(f"/courses/{slug}/reviews" for slug in dict.fromkeys(present))
    return [f"Demo course reviews: {len(present)} ({pages})", *skipped]


def _audit_to_the_end(db: Session, user_id: int, course: Course, quizzes_at: datetime) -> None:
    """Enroll on the audit track, read every lesson and pass every module quiz, as a learner would."""
    enrollment = enrollments.enroll(db, user_id, course, "audit")
    for step in services.required_steps(get_outline(db, course), "audit"):
        if step.kind == "quiz":
            pass_quiz(db, enrollment.id, step.id, quizzes_at)
        else:
            enrollments.complete_item(db, enrollment.id, step.id, "read")
    last = get_outline(db, course).steps[-1]
    enrollments.record_visit(db, enrollment.id, last.id)
