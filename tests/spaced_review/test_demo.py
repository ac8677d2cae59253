"""The demo's review cards (lms/spaced_review/demo.py): real questions of the real courses, in several
boxes, some due now; a second load adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.catalog.models import Course
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.db import utcnow
from lms.quizzes.models import QuestionVersion
from lms.spaced_review import services
from lms.spaced_review.demo import DEMO_CARDS, load_demo_review_cards
from lms.spaced_review.models import ReviewCard
from tests.conftest import ROOT


def test_the_demo_learner_gets_cards_in_several_boxes_once(app, db, make_user, enroll):
    result = load_courses(ROOT / "courses")
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    assert load_demo_review_cards(db) == []  # no demo learner yet: nothing to do
    learner = make_user("learner@example.com")
    for slug in ("python-data-analysis", "web-accessibility-essentials"):
        enroll(learner, db.scalar(select(Course).where(Course.slug == slug)))
    now = utcnow()
    lines = load_demo_review_cards(db, now)
    db.commit()
    assert lines == ["Demo review cards: 6 (3 due) for learner@example.com at /review"]
    assert load_demo_review_cards(db, now) == lines
    db.commit()
    assert db.scalar(select(func.count()).select_from(ReviewCard)) == len(DEMO_CARDS)
    assert {card.box for card in db.scalars(select(ReviewCard))} == {1, 2, 3, 4, 5}
    # Every card is a live question of the course, and the due ones can be answered.
    for card in services.next_session(db, learner.id, now):
        live = db.scalar(select(QuestionVersion).where(QuestionVersion.id == card.record.id))
        assert live.retired_at is None and live.type not in services.UNREVIEWABLE_TYPES
    assert services.due_count(db, learner.id, now) == 3
    assert sum(c.active for c in services.review_summary(db, learner.id, now)) == 5  # (one is learned)
