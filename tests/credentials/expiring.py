"""A course whose credential expires (the capstone course, plus `valid_for_months`, `recertify_by` and a
recertification quiz), holders of its credential issued at a chosen moment, and passing its quizzes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from lms.catalog.models import Item
from lms.credentials.eligibility import live_achievement
from lms.credentials.issuance import _issue, signing_issuer
from lms.credentials.models import Credential
from lms.quizzes import services as quizzes
from tests.capstones.conftest import CapstoneSetup
from tests.conftest import write_course

RECERTIFICATION_QUIZ = """---
type: quiz
title: Recertification check
role: recertification
pass_score: 50
---
## What does `len([1, 2])` return?
- [x] 2
- [ ] 1
- [ ] 3
"""


@dataclass
class ExpiringCourse:
    setup: CapstoneSetup
    quiz: Item | None  # the recertification quiz

    @property
    def course(self):
        return self.setup.course

    @property
    def learner(self):
        return self.setup.learner


@pytest.fixture
def expiring_course(db, courses_root, capstone_setup):
    def build(months: int = 12, recertify_by: str = "quiz", slug: str = "expiring-course", **kwargs) -> ExpiringCourse:
        folder = write_course(courses_root, slug, modules=1, lessons=2, extra_course_yml=(
            f"credential:\n  name: Trip Analyst\n  valid_for_months: {months}\n  recertify_by: {recertify_by}\n"))
        if recertify_by == "quiz":
            (folder / "01-module-1" / "09-recertify.md").write_text(RECERTIFICATION_QUIZ)
        setup = capstone_setup(slug=slug, **kwargs)
        quiz = db.scalar(select(Item).where(Item.course_id == setup.course.id, Item.kind == "quiz"))
        return ExpiringCourse(setup, quiz)

    return build


def hold(app, db, course, user, issued_at: datetime) -> Credential:
    """Issue the course's credential to ``user`` as if at ``issued_at`` (so it expires when we choose)."""
    achievement_id, version_id, _spec = live_achievement(db, course.id)
    credential = _issue(db, signing_issuer(app.config["LMS_SETTINGS"]), user.id, achievement_id, version_id,
                        issued_at)
    db.commit()
    return credential


def take_quiz(db, enrollment_id: int, quiz_item_id: int, now: datetime, right: bool = True):
    """Start, answer and submit the recertification quiz (its one question: the first option is right)."""
    quiz = quizzes.get_quiz(db, quiz_item_id)
    attempt = quizzes.start_attempt(db, enrollment_id, quiz, now)
    question_id = attempt.layout[0]["question_id"]
    quizzes.save_responses(db, attempt, {question_id: 0 if right else 1}, now)
    attempt = quizzes.submit_attempt(db, attempt.id, now, quiz)
    db.commit()
    return attempt
