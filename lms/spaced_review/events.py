"""Spaced review reacts to quiz submissions: each missed question becomes (or goes back to box 1 as) a review card.

Subscribed to ``lms.quizzes.services.quiz_submitted``, sent inside the transaction that graded the
attempt, so the cards commit with the grade (and roll back with it). One INSERT ... SELECT ... ON
CONFLICT per event, reading the answers the grading has just written; it writes review_cards only,
never the attempt, its answers or a completion.

What counts as missed (decision 0015): an answer scored below full points: incorrect, partly correct,
or unanswered. Essays are left out (waiting for a grader, and a review cannot score one on the spot),
as are descriptions (not scored). Only module and placement quizzes make cards, and only when the quiz
lets its answers be seen: never for ``feedback: never``, and for ``feedback: after_pass`` only from
an attempt that passed. A question answered right in a later attempt leaves its card where it is.

The same attempt's event can come again (quizzes sends it again when an essay is graded or a question
regraded). ``missed_at`` holds the submission time of the attempt that last put the card in box 1, and
a card is only put back when a later attempt missed it, so a repeated event changes nothing.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.db import UTCDateTime
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt, QuizConfig
from lms.quizzes.services import quiz_submitted
from lms.spaced_review.models import ReviewCard
from lms.spaced_review.services import FIRST_INTERVAL, REVIEWED_ROLES, UNREVIEWABLE_TYPES

MISSED_STATUSES = ("incorrect", "partial", "unanswered")
# The quiz's feedback setting decides whether its answers may be reviewed (they are shown after a review).
FEEDBACK_SHOWN = ("immediately", "after_submit")
FEEDBACK_SHOWN_AFTER_PASS = (*FEEDBACK_SHOWN, "after_pass")

_CARDS = ReviewCard.__table__
_COLUMNS = ("enrollment_id", "quiz_item_id", "question_key", "box", "due_at", "reviews", "lapses", "created_at",
            "missed_at")


def _missed_questions():
    missed_at = bindparam("missed_at", type_=UTCDateTime())
    feedback = func.coalesce(QuizConfig.settings["feedback"].as_string(), "after_submit")
    return (select(bindparam("enrollment_id"), QuestionVersion.quiz_item_id, QuestionVersion.key, literal(1),
                   bindparam("due_at", type_=UTCDateTime()), literal(0), literal(0), missed_at, missed_at)
            .select_from(AttemptAnswer)
            .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_id)
            .join(QuizConfig, QuizConfig.item_id == QuestionVersion.quiz_item_id)
            # (a WHERE clause is also what lets SQLite parse an upsert of a SELECT)
            .where(AttemptAnswer.attempt_id == bindparam("attempt_id"),
                   AttemptAnswer.status.in_(MISSED_STATUSES),
                   QuestionVersion.type.not_in(UNREVIEWABLE_TYPES),
                   QuizConfig.role.in_(REVIEWED_ROLES),
                   feedback.in_(bindparam("feedback_shown", expanding=True))))


def _upsert(dialect):
    statement = dialect.insert(_CARDS).from_select(_COLUMNS, _missed_questions())
    excluded = statement.excluded
    # Missed again by a later attempt: back to box 1 (learned cards too: the quiz showed it was forgotten).
    return statement.on_conflict_do_update(
        index_elements=["enrollment_id", "quiz_item_id", "question_key"],
        set_={"box": 1, "due_at": excluded.due_at, "lapses": _CARDS.c.lapses + 1, "missed_at": excluded.missed_at},
        where=_CARDS.c.missed_at < excluded.missed_at)


_UPSERT = {"sqlite": _upsert(sqlite), "postgresql": _upsert(postgresql)}


@quiz_submitted.connect
def cards_for_missed_questions(db: Session, *, attempt: QuizAttempt) -> None:
    if attempt.state != "submitted" or attempt.submitted_at is None:
        return
    connection = db.connection()
    connection.execute(_UPSERT[connection.dialect.name], {
        "attempt_id": attempt.id, "enrollment_id": attempt.enrollment_id,
        "missed_at": attempt.submitted_at, "due_at": attempt.submitted_at + FIRST_INTERVAL,
        "feedback_shown": list(FEEDBACK_SHOWN_AFTER_PASS if attempt.passed else FEEDBACK_SHOWN)})
