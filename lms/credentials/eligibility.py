"""Eligibility: what still stands between a learner and a course's credential, as a list of blockers.

One service answers it for the dashboard, the course page, issuance and `flask credentials reconcile`:
an empty list means eligible. Each blocker says what to do next, in the learner's words ("Pass the
Module 3 quiz", "Your capstone needs revision"). At most five statements, whatever the course's size.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.capstones.models import Submission
from lms.catalog.models import Item, Module
from lms.credentials.models import Achievement, AchievementVersion
from lms.enrollments.models import Enrollment, ItemCompletion


@dataclass(frozen=True)
class Blocker:
    kind: str  # "enroll", "verify_email", "credential_track", "quiz", "capstone"
    message: str
    item_id: int | None = None  # the quiz or capstone to open, when there is one


@dataclass(frozen=True)
class Eligibility:
    achievement_id: int | None  # None: the course awards no credential
    achievement_version_id: int | None
    blockers: tuple[Blocker, ...]

    @property
    def eligible(self) -> bool:
        return self.achievement_id is not None and not self.blockers


# What a learner reads about their capstone, by the state of its latest version.
_CAPSTONE_BLOCKERS = {
    None: "Submit your capstone project",
    "draft": "Submit your capstone project (your draft is saved)",
    "submitted": "Your capstone is waiting for a grader",
    "in_review": "Your capstone is being reviewed",
    "needs_revision": "Your capstone needs revision: read the feedback and resubmit",
    "not_passed": "Your capstone was not passed",
}


def live_achievement(db: Session, course_id: int) -> tuple[int, int, dict] | None:
    """The course's achievement id, its live version's id and definition; None when it awards none."""
    row = db.execute(
        select(Achievement.id, AchievementVersion.id, AchievementVersion.spec)
        .join(AchievementVersion, and_(AchievementVersion.achievement_id == Achievement.id,
                                       AchievementVersion.retired_at.is_(None)))
        .where(Achievement.course_id == course_id, Achievement.retired_at.is_(None))
    ).first()
    return tuple(row) if row else None


def course_blockers(db: Session, user_id: int, course_id: int) -> Eligibility:
    achievement = live_achievement(db, course_id)
    if achievement is None:
        return Eligibility(None, None, ())
    achievement_id, version_id, spec = achievement
    blockers: list[Blocker] = []
    learner = db.execute(select(Enrollment.id, Enrollment.track, User.email_verified_at)
                         .join(User, User.id == Enrollment.user_id)
                         .where(Enrollment.user_id == user_id, Enrollment.course_id == course_id)).first()
    if learner is None:
        return Eligibility(achievement_id, version_id, (Blocker("enroll", "Enrol in the course"),))
    enrollment_id, track, verified_at = learner
    if verified_at is None:
        blockers.append(Blocker("verify_email", "Verify your email address"))
    if track != "credential":
        blockers.append(Blocker("credential_track", "Switch to the credential track"))
    required = spec["requires"]
    if required["quizzes"]:
        passed = exists().where(ItemCompletion.enrollment_id == enrollment_id, ItemCompletion.item_id == Item.id,
                                ItemCompletion.how == "passed")
        quizzes = db.execute(
            select(Module.slug, Item.slug, Item.id, Item.title, passed)
            .join(Module, Module.id == Item.module_id)
            .where(Item.course_id == course_id, Item.kind == "quiz", Item.retired_at.is_(None))
            .order_by(Module.position, Item.position)).all()
        by_ref = {f"{module}/{item}": (item_id, title, done) for module, item, item_id, title, done in quizzes}
        for ref in required["quizzes"]:
            item_id, title, done = by_ref.get(ref, (None, ref, False))
            if not done:
                blockers.append(Blocker("quiz", f"Pass the quiz “{title}”", item_id))
    if required["capstone"]:
        latest = (select(Submission.item_id, Submission.state)
                  .join(Item, and_(Item.id == Submission.item_id, Item.kind == "capstone",
                                   Item.course_id == course_id, Item.retired_at.is_(None)))
                  .where(Submission.enrollment_id == enrollment_id)
                  .order_by(Submission.version.desc()).limit(1))
        row = db.execute(latest).first()
        state = row[1] if row else None
        if state != "passed":
            item_id = row[0] if row else db.scalar(select(func.min(Item.id)).where(
                Item.course_id == course_id, Item.kind == "capstone", Item.retired_at.is_(None)))
            blockers.append(Blocker("capstone", _CAPSTONE_BLOCKERS.get(state, "Pass the capstone project"), item_id))
    return Eligibility(achievement_id, version_id, tuple(blockers))
