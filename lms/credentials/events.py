"""What earns a credential: subscribed to the events that can remove a learner's last blocker.

Each handler runs in the event's own transaction (see lms/credentials/issuance.py).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.services import email_verified
from lms.credentials.issuance import issue_if_eligible
from lms.enrollments.models import Enrollment
from lms.enrollments.services import item_completed


@item_completed.connect
def issue_after_an_assessment_passed(db: Session, *, enrollment_id: int, item_id: int, course_id: int,
                                     how: str) -> None:
    if how != "passed":
        return  # (a lesson read removes no blocker)
    user_id = db.scalar(select(Enrollment.user_id).where(Enrollment.id == enrollment_id))
    issue_if_eligible(db, user_id, course_id)


@email_verified.connect
def issue_after_email_verified(db: Session, *, user_id: int) -> None:
    for course_id in db.scalars(select(Enrollment.course_id).where(Enrollment.user_id == user_id)):
        issue_if_eligible(db, user_id, course_id)
