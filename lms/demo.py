"""Demo accounts, roles and progress for `make run` (development only). Idempotent."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth import services as auth
from lms.auth.models import User
from lms.capstones.demo import load_demo_capstones
from lms.catalog.models import Course
from lms.catalog.services import get_outline
from lms.course_reviews.demo import load_demo_course_reviews
from lms.credentials.demo import load_demo_credentials
from lms.enrollments import services as enrollments
from lms.instructor.demo import load_demo_course_activity
from lms.spaced_review.demo import load_demo_review_cards

# Documented in README; used only by this development command, never by a production setting.
DEMO_PASSWORD_DEFAULT = "skillmark-demo"

# (email, name, admin, {course slug: share of lessons done}, {course slug: role})
DEMO_PEOPLE = [
    ("learner@example.com", "Ada Learner", False,
     {"python-data-analysis": 0.4, "web-accessibility-essentials": 0.15}, {}),
    ("instructor@example.com", "Ines Instructor", False, {},
     {"python-data-analysis": "instructor", "web-accessibility-essentials": "instructor",
      "sql-fundamentals": "instructor"}),
    ("grader@example.com", "Grace Grader", False, {},
     {"python-data-analysis": "grader", "web-accessibility-essentials": "grader", "sql-fundamentals": "grader"}),
    ("admin@example.com", "Alex Admin", True, {}, {}),
    ("sam@example.com", "Sam Okafor", False, {"python-data-analysis": 1.0, "sql-fundamentals": 0.5}, {}),
    ("mei@example.com", "Mei Tanaka", False, {"web-accessibility-essentials": 0.7}, {}),
    ("lucas@example.com", "Lucas Martin", False, {"python-data-analysis": 0.1, "sql-fundamentals": 0.0}, {}),
    ("priya@example.com", "Priya Shah", False, {"python-data-analysis": 1.0}, {}),
    ("amara@example.com", "Amara Diallo", False, {"web-accessibility-essentials": 1.0}, {}),
    ("jonas@example.com", "Jonas Berg", False, {"sql-fundamentals": 1.0}, {}),
    ("tom@example.com", "Tom Novak", False, {"sql-fundamentals": 0.8}, {}),
    ("noah@example.com", "Noah Fischer", False, {"sql-fundamentals": 1.0}, {}),
    # Stopped early: learners at risk on the course dashboards (lms/instructor/demo.py).
    ("omar@example.com", "Omar Haddad", False, {"python-data-analysis": 0.2, "web-accessibility-essentials": 0.3}, {}),
    ("lena@example.com", "Lena Kowalski", False, {"sql-fundamentals": 0.2}, {}),
]
# Who grades the demo capstone submissions (lms/capstones/demo.py), per course.
DEMO_GRADER = "grader@example.com"


def load_demo(db: Session, hasher: PasswordHasher, password: str, store=None) -> list[str]:
    courses = {c.slug: c for c in db.scalars(select(Course).where(Course.retired_at.is_(None)))}
    if not courses:
        raise auth.InvalidInput("No courses yet: run `flask courses sync` before `flask demo`.")
    lines = [f"Demo accounts (password: {password}):"]
    for email, name, is_admin, progress, roles in DEMO_PEOPLE:
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            user = auth.create_user(db, hasher, email, name, password, is_admin=is_admin, verified=True)
        for slug, role in roles.items():
            if slug in courses:
                auth.grant(db, user, role, slug)
        for slug, share in progress.items():
            course = courses.get(slug)
            if course is None:
                continue
            enrollment = enrollments.enroll(db, user.id, course)
            # Demo progress is lessons read; quizzes are done only by passing them.
            steps = [step for step in get_outline(db, course).steps if step.kind == "lesson"]
            for step in steps[: round(len(steps) * share)]:
                enrollments.complete_item(db, enrollment.id, step.id, "read")
            if steps:
                done = round(len(steps) * share)
                enrollments.record_visit(db, enrollment.id, steps[min(done, len(steps) - 1)].id)
        what = "admin" if is_admin else ", ".join(f"{r} of {s}" for s, r in roles.items()) or "learner"
        lines.append(f"  {email:<26} {what}")
    db.flush()
    grader = db.scalar(select(User).where(User.email == DEMO_GRADER))
    added = load_demo_capstones(db, {slug: grader.id for slug in courses}, store)
    if added:
        lines.append(f"Demo capstone submissions: {added} (the grader's queue is at /grading)")
    lines.extend(load_demo_credentials(db))
    lines.extend(load_demo_course_reviews(db))  # (after capstones and credentials: it needs completed learners)
    lines.extend(load_demo_review_cards(db))
    lines.extend(load_demo_course_activity(db))  # (last: the other demo loaders record activity as of now)
    return lines
