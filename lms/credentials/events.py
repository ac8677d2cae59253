"""What earns or renews a credential: subscribed to the events that can remove a learner's last blocker,
and to the recertification passes that renew an expiring credential (lms/credentials/renewal.py); and
the nightly reconcile that issues whatever those events missed.

Each handler runs in the event's own transaction (see lms/credentials/issuance.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.services import email_verified
from lms.capstones.models import Review, Submission
from lms.capstones.services import capstone_graded
from lms.catalog.models import Item
from lms.credentials.issuance import issue_if_eligible, reconcile
from lms.credentials.renewal import renew
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.enrollments.services import item_completed, track_changed
from lms.jobs import JobContext, periodic
from lms.quizzes.models import QuizAttempt, QuizConfig
from lms.quizzes.services import quiz_submitted

logger = logging.getLogger(__name__)


@item_completed.connect
def issue_after_an_assessment_passed(db: Session, *, enrollment_id: int, item_id: int, course_id: int,
                                     how: str) -> None:
    if how not in ("passed", "tested_out"):
        return  # (a lesson read removes no blocker; a module tested out may, when the course accepts it)
    user_id = db.scalar(select(Enrollment.user_id).where(Enrollment.id == enrollment_id))
    issue_if_eligible(db, user_id, course_id)


@track_changed.connect
def issue_after_switching_to_the_credential_track(db: Session, *, enrollment: Enrollment) -> None:
    issue_if_eligible(db, enrollment.user_id, enrollment.course_id)


@email_verified.connect
def issue_after_email_verified(db: Session, *, user_id: int) -> None:
    for course_id in db.scalars(select(Enrollment.course_id).where(Enrollment.user_id == user_id)):
        issue_if_eligible(db, user_id, course_id)


@quiz_submitted.connect
def renew_after_a_recertification_quiz(db: Session, *, attempt: QuizAttempt) -> None:
    if not attempt.passed:
        return
    row = db.execute(select(QuizConfig.role, Item.course_id, Enrollment.user_id)
                     .select_from(Enrollment)
                     .join(Item, Item.course_id == Enrollment.course_id)
                     .join(QuizConfig, QuizConfig.item_id == Item.id)
                     .where(Enrollment.id == attempt.enrollment_id, Item.id == attempt.quiz_item_id)).first()
    if row is None or row.role != "recertification":
        return  # (module quizzes earn credentials through item_completed; placement quizzes renew nothing)
    renew(db, row.user_id, row.course_id, "quiz", attempt.submitted_at, utcnow(), quiz_attempt_id=attempt.id)


@capstone_graded.connect
def renew_after_the_capstone_passed_again(db: Session, *, submission: Submission, review: Review) -> None:
    if review.outcome != "passed":
        return
    # (The first pass also arrives here, after item_completed issued the credential: renew() leaves a
    # credential alone when the pass was handed in before it was issued.)
    user_id = db.scalar(select(Enrollment.user_id).where(Enrollment.id == submission.enrollment_id))
    renew(db, user_id, submission.course_id, "capstone", submission.submitted_at, review.graded_at,
          submission_id=submission.id)


# The safety net behind the events above: a credential that became due while it could not be issued
# (no signing key configured yet, an achievement added by a sync after the last blocker went, a
# process that died between the learner's commit and the event's) is issued in the night.
@periodic("credentials.reconcile", every=timedelta(days=1), offset=timedelta(hours=4, minutes=30))
def reconcile_nightly(ctx: JobContext, period_start: datetime) -> None:
    report = reconcile(ctx.db, ctx.now)
    logger.info("credentials reconciled", extra={"issued": len(report.issued), "still_blocked": report.still_blocked,
                                                 "not_signed": report.not_signed})
