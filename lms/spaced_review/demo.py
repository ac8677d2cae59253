"""Demo review cards for `make run`: learner@example.com has questions in several Leitner boxes, some due
now, so /review and the dashboard's count have something real to show. Development only: called from
lms/demo.py after the demo people are enrolled.

The cards are real questions of the synced courses (live versions of their module and placement
quizzes), placed straight into their boxes as if the learner had missed them in a quiz days ago and
reviewed them since. No attempt is made for them: the demo's quiz attempts and grades stay as the
other demos leave them. Idempotent: a card the learner already has is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.catalog.models import Course, Item
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.quizzes.models import QuestionVersion, QuizConfig
from lms.spaced_review import services
from lms.spaced_review.models import BOX_INTERVAL_DAYS, ReviewCard

DEMO_LEARNER = "learner@example.com"


@dataclass(frozen=True)
class DemoCard:
    course: str
    box: int
    due_in: timedelta  # from now; negative: due already
    reviews: int
    lapses: int
    missed_days_ago: float


# Per course, in its quizzes' order: the first questions get these cards.
DEMO_CARDS = [
    DemoCard("python-data-analysis", 1, -timedelta(hours=3), 0, 0, 1.2),
    DemoCard("python-data-analysis", 2, -timedelta(hours=20), 1, 0, 4),
    DemoCard("python-data-analysis", 3, timedelta(days=4), 2, 0, 6),
    DemoCard("python-data-analysis", 5, timedelta(0), 4, 1, 30),
    DemoCard("web-accessibility-essentials", 1, -timedelta(minutes=40), 2, 1, 9),
    DemoCard("web-accessibility-essentials", 4, timedelta(days=11), 3, 0, 13),
]

_INSERT = {"sqlite": sqlite.insert(ReviewCard.__table__).on_conflict_do_nothing(),
           "postgresql": postgresql.insert(ReviewCard.__table__).on_conflict_do_nothing()}


def _questions(db: Session, course_id: int) -> list[tuple[int, str]]:
    """(quiz item id, question key) of the course's reviewable questions, in the course's order."""
    return db.execute(
        select(QuestionVersion.quiz_item_id, QuestionVersion.key)
        .join(Item, Item.id == QuestionVersion.quiz_item_id)
        .join(QuizConfig, QuizConfig.item_id == Item.id)
        .where(Item.course_id == course_id, Item.retired_at.is_(None), Item.quiz_role.in_(services.REVIEWED_ROLES),
               QuestionVersion.retired_at.is_(None), QuestionVersion.type.not_in(services.UNREVIEWABLE_TYPES))
        .order_by(Item.id, QuestionVersion.position)).all()


def load_demo_review_cards(db: Session, now: datetime | None = None) -> list[str]:
    """Give the demo learner their review cards (those missing); returns the lines to print."""
    now = now or utcnow()
    user_id = db.scalar(select(User.id).where(User.email == DEMO_LEARNER))
    if user_id is None:
        return []
    enrollments = dict(db.execute(select(Course.slug, Enrollment.id).join(Course, Course.id == Enrollment.course_id)
                                  .where(Enrollment.user_id == user_id, Course.retired_at.is_(None))).all())
    course_ids = dict(db.execute(select(Course.slug, Course.id).where(Course.slug.in_(list(enrollments)))).all())
    rows = []
    for slug in dict.fromkeys(card.course for card in DEMO_CARDS):
        if slug not in enrollments:
            continue
        plans = [card for card in DEMO_CARDS if card.course == slug]
        for plan, (item_id, key) in zip(plans, _questions(db, course_ids[slug]), strict=False):
            missed_at = now - timedelta(days=plan.missed_days_ago)
            rows.append({"enrollment_id": enrollments[slug], "quiz_item_id": item_id, "question_key": key,
                         "box": plan.box, "due_at": now + plan.due_in, "reviews": plan.reviews,
                         "lapses": plan.lapses, "created_at": missed_at, "missed_at": missed_at,
                         "last_reviewed_at": _last_reviewed(now + plan.due_in, plan),
                         "last_answer": None})
    if rows:
        connection = db.connection()
        connection.execute(_INSERT[connection.dialect.name], rows)
    total = db.scalar(select(func.count()).select_from(ReviewCard)
                      .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id).where(Enrollment.user_id == user_id))
    if not total:
        return []
    due = services.due_count(db, user_id, now)
    return [f"Demo review cards: {total} ({due} due) for {DEMO_LEARNER} at /review"]


def _last_reviewed(due_at: datetime, plan: DemoCard) -> datetime | None:
    """The review that put the card where it is: its box's interval before it is due."""
    return due_at - timedelta(days=BOX_INTERVAL_DAYS.get(plan.box, 0)) if plan.reviews else None
