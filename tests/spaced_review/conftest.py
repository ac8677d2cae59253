"""Spaced review tests build on the quiz tests' course (single, short, numerical, multi and an essay)
and make cards the real way: an attempt started, answered and submitted through the quiz services."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from lms.db import utcnow
from lms.quizzes import services as quizzes
from lms.quizzes.models import QuestionVersion
from lms.spaced_review.models import ReviewCard
from tests.quizzes.conftest import quiz_setup  # noqa: F401 (a fixture, shared)

# Canonical responses by question type: right and wrong (see lms/questions/scoring.py for the shapes).
RIGHT = {"single": 0, "multi": [0, 1], "short": "Paris", "numerical": "10",
         "essay": "Each project gets the packages it needs."}
WRONG = {"single": 1, "multi": [2], "short": "Lyon", "numerical": "11"}
PARTIAL = {"multi": [0]}  # one of the two mutable types: half the points


def submit(db, setup, answers: dict[str, str] | None = None, now: datetime | None = None):
    """Start an attempt and submit it, answering each question by type: "right" unless ``answers``
    (question type -> "right", "wrong", "partial" or "blank") says otherwise. Returns the attempt."""
    answers = answers or {}
    now = now or utcnow()
    quiz = quizzes.get_quiz(db, setup.item.id)
    attempt = quizzes.start_attempt(db, setup.enrollment.id, quiz, now)
    responses = {}
    for entry in attempt.layout:
        version = db.get(QuestionVersion, entry["question_id"])
        how = answers.get(version.type, "right")
        table = {"right": RIGHT, "wrong": WRONG, "partial": PARTIAL}.get(how)
        if table is not None:
            responses[version.id] = table[version.type]
    graded = quizzes.submit_attempt(db, attempt.id, now, quiz, responses)
    db.commit()
    return graded


def cards(db) -> dict[str, ReviewCard]:
    """Every card, by the type of its question."""
    db.expire_all()
    types = dict(db.execute(select(QuestionVersion.key, QuestionVersion.type)).all())
    return {types[card.question_key]: card for card in db.scalars(select(ReviewCard))}


@pytest.fixture
def missed(db, quiz_setup):  # noqa: F811 (the fixture imported above)
    """A learner who missed the single-choice and the numerical question: (setup, attempt)."""

    def build(**options):
        setup = quiz_setup(**options)
        attempt = submit(db, setup, {"single": "wrong", "numerical": "wrong"})
        return setup, attempt

    return build


def form_for(card, how: str = "right") -> MultiDict:
    """The review form for a due card (a services.DueCard) as the page would send it, answered "right",
    "wrong" or "dont_know", with the options in the order the page showed them."""
    version = card.record
    data = MultiDict({"reviews": str(card.reviews), "action": "dont_know" if how == "dont_know" else "answer"})
    field = f"q{version.id}"
    table = RIGHT if how == "right" else WRONG
    if how == "dont_know":
        return data
    if version.type == "single":
        data[field] = str(card.order.index(table["single"]))
    elif version.type == "multi":
        data[f"{field}-present"] = "1"
        data.setlist(field, [str(card.order.index(i)) for i in table["multi"]])
    else:
        data[field] = table[version.type]
    return data
