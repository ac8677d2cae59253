"""Demo data for the course dashboards (`flask demo`): enrollments spread over the last weeks, so the
"enrolled per week" charts have a shape, and a few learners who stopped early, so each course has
learners at risk to nudge. Only dates change: every enrollment, completion and attempt is real.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.instructor.stats import AT_RISK_IDLE

# Learners who stopped early (their demo progress is under 50%): idle for this many days.
IDLE_LEARNERS = {"lucas@example.com": 24, "omar@example.com": 17, "lena@example.com": 31}
SPREAD_WEEKS = 10  # enrollments are spread over this many weeks before today


def load_demo_course_activity(db: Session, now: datetime | None = None) -> list[str]:
    """Move the demo enrollments' dates into the past (idempotent: a second run sets the same spread).

    An enrollment keeps its enrolled_at when that is already earlier (the credential demo back-dates
    some learners' work by months), and last activity never moves before enrollment."""
    now = now or utcnow()
    rows = db.execute(select(Enrollment.id, User.email, Enrollment.enrolled_at, Enrollment.last_activity_at)
                      .join(User, User.id == Enrollment.user_id).where(User.email.like("%@example.com"))
                      .order_by(Enrollment.id)).all()
    idle = 0
    for n, (enrollment_id, email, enrolled_at, last_activity_at) in enumerate(rows):
        spread = now - timedelta(days=3 + (n * 23) % (SPREAD_WEEKS * 7))
        values: dict = {"enrolled_at": min(enrolled_at, spread)}
        if email in IDLE_LEARNERS:
            values["last_activity_at"] = now - timedelta(days=IDLE_LEARNERS[email])
            values["enrolled_at"] = min(values["enrolled_at"], values["last_activity_at"] - timedelta(days=5))
            idle += 1
        elif last_activity_at < values["enrolled_at"]:
            values["last_activity_at"] = values["enrolled_at"]
        db.execute(update(Enrollment).where(Enrollment.id == enrollment_id).values(**values))
    return [f"Course dashboards (/teach): {len(rows)} enrollments over the last {SPREAD_WEEKS} weeks, {idle} of them "
            f"idle for more than {AT_RISK_IDLE.days} days (learners at risk)"] if rows else []
