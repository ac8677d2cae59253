"""Demo credentials for `make run`: a learner who holds one, one whose credential expires soon, and one
whose credential was revoked. Development only: called from lms/demo.py after the demo capstones.

All three are earned, not inserted: each learner's capstone was passed by lms/capstones/demo.py, and
here they pass the course's module quizzes through the quiz services (lms/quizzes/demo.py). The
last pass fires lms/credentials/events.py, which issues the credential, and the course's instructor
revokes one through lms.credentials.services.revoke. Idempotent: a learner who already has the
course's credential (in any state) is left alone, and the lines are printed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.capstones import services as capstones
from lms.catalog.models import Course
from lms.catalog.services import get_outline
from lms.credentials import events
from lms.credentials.eligibility import course_blockers, live_achievement
from lms.credentials.issuance import add_months, current_credential, issue_if_eligible
from lms.credentials.models import Credential
from lms.credentials.services import revoke
from lms.db import utcnow
from lms.enrollments.services import get_enrollment, item_completed
from lms.quizzes import services as quizzes
from lms.quizzes.demo import pass_quiz


@dataclass(frozen=True)
class DemoHolder:
    email: str
    course: str
    story: str  # "valid", "expiring" (expires in EXPIRES_IN) or "revoked"


DEMO_HOLDERS = [
    DemoHolder("sam@example.com", "python-data-analysis", "valid"),
    DemoHolder("amara@example.com", "web-accessibility-essentials", "expiring"),
    DemoHolder("noah@example.com", "sql-fundamentals", "revoked"),
]
EXPIRES_IN = timedelta(days=20)  # inside the 30 days of the expiry reminder and the 90 of the renewal window
QUIZ_GAP = timedelta(days=1)  # between one module quiz and the next; the last is passed when the story says
REVOKED_BY = "instructor@example.com"
REVOKE_REASON = ("The capstone's queries and write-up match a solution published online line for line. "
                 "The learner has been asked to resubmit the capstone with their own work; a new credential "
                 "is issued when it passes.")


def load_demo_credentials(db: Session, now: datetime | None = None) -> list[str]:
    """Earn (or find) the demo credentials; returns the lines to print, with each one's address."""
    now = now or utcnow()
    courses = {c.slug: c for c in db.scalars(select(Course).where(Course.retired_at.is_(None)))}
    lines = []
    for holder in DEMO_HOLDERS:
        user = db.scalar(select(User).where(User.email == holder.email))
        course = courses.get(holder.course)
        enrollment = get_enrollment(db, user.id, course.id) if user and course else None
        live = live_achievement(db, course.id) if enrollment else None
        if live is None:
            continue  # (the course is not synced, or awards no credential)
        achievement_id, _version_id, spec = live
        credential = db.scalar(select(Credential).where(Credential.user_id == user.id,
                                                        Credential.achievement_id == achievement_id)
                               .order_by(Credential.issued_at.desc()).limit(1))
        if credential is None:
            credential = _earn(db, holder, user, course, enrollment.id, achievement_id, spec, now)
        lines.append(_line(user, credential, now))
    return ["Demo credentials (public pages):", *lines] if lines else []


def _earn(db: Session, holder: DemoHolder, user: User, course: Course, enrollment_id: int, achievement_id: int,
          spec: dict, now: datetime) -> Credential:
    if holder.story == "expiring":
        # The credential was earned long ago, so it expires soon. The event issues at the moment it runs,
        # so here it is held back and the same service issues at the story's time, as `flask credentials
        # reconcile` would have.
        if not spec.get("valid_for_months"):
            raise RuntimeError(f"the demo's expiring credential needs {course.slug}'s credential to expire "
                               "(valid_for_months in its course.yml)")
        issued_at = add_months(now + EXPIRES_IN, -spec["valid_for_months"])
        with _issuance_held_back():
            _pass_module_quizzes(db, course, enrollment_id, issued_at)
        credential = issue_if_eligible(db, user.id, course.id, issued_at)
    else:
        _pass_module_quizzes(db, course, enrollment_id, now)  # the last pass issues it (events.py)
        credential = current_credential(db, user.id, achievement_id)
    if credential is None:
        blockers = [b.message for b in course_blockers(db, user.id, course.id).blockers]
        raise RuntimeError(f"demo credential of {user.email} for {course.slug} not issued: {blockers}")
    if holder.story == "revoked":
        instructor = db.scalar(select(User).where(User.email == REVOKED_BY))
        revoke(db, credential.public_id, instructor.id, instructor.is_admin, REVOKE_REASON, utcnow())
        # Asked to resubmit: a new round of the capstone, so the credential is not simply issued again.
        capstones.start_over(db, enrollment_id, capstones.live_capstone(db, course.id), utcnow())
    return credential


def _pass_module_quizzes(db: Session, course: Course, enrollment_id: int, last_at: datetime) -> None:
    """Pass the course's module quizzes in order, a QUIZ_GAP apart, the last at ``last_at``."""
    items = [step.id for step in get_outline(db, course).steps if step.kind == "quiz"
             and quizzes.get_quiz(db, step.id).settings.get("role", "module") == "module"]
    for number, item_id in enumerate(items, start=1):
        pass_quiz(db, enrollment_id, item_id, last_at - (len(items) - number) * QUIZ_GAP)


@contextmanager
def _issuance_held_back() -> Iterator[None]:
    """Passes that leave the issuing to the caller. The event handler issues at the moment it runs (it
    is given no time), so a back-dated pass would earn a credential dated today; no order of the passes
    avoids that, since the capstone's pass fires the same event as a quiz's."""
    item_completed.disconnect(events.issue_after_an_assessment_passed)
    try:
        yield
    finally:
        item_completed.connect(events.issue_after_an_assessment_passed)


def _line(user: User, credential: Credential, now: datetime) -> str:
    name = credential.document["credentialSubject"]["achievement"]["name"]
    where = f"/credentials/{credential.public_id}"
    if credential.revoked_at is not None:
        return f"  {user.name}'s “{name}” was revoked on {_date(credential.revoked_at)}: {where}"
    if credential.valid_until is not None:
        days = round((credential.valid_until - now) / timedelta(days=1))
        return (f"  {user.name} holds “{name}”, issued {_date(credential.issued_at)}; it expires on "
                f"{_date(credential.valid_until)}, in {days} days: {where}")
    return f"  {user.name} holds “{name}”: {where}"


def _date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"
