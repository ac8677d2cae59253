"""Taking a quiz as a demo learner would, answering every question right (development only).

Everything goes through lms/quizzes/services.py, as the quiz page does: the attempt is started, the
answers are saved and submitted, and an essay waits for the course's grader, who then gives it full
points. So a pass completes the item, and whatever subscribes to that (a credential whose last
blocker it was) happens as it would for a learner. Used by lms/credentials/demo.py for `flask demo`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.models import CourseRole
from lms.catalog.models import Item
from lms.questions.model import (
    Essay,
    FillInBlanks,
    Matching,
    MultipleResponse,
    Numerical,
    Ordering,
    Question,
    ShortAnswer,
    SingleChoice,
    TextAnswer,
    TrueFalse,
)
from lms.questions.scoring import match_text, score
from lms.quizzes import services
from lms.quizzes.models import AttemptAnswer, QuizAttempt

# An essay is graded a while after the attempt is handed in; the quiz is passed when it is.
ESSAY_WAIT = timedelta(hours=3)

# What the demo learners write, by question key (the demo courses' essays); any other essay gets
# GENERIC_ESSAY.
ESSAYS = {
    "write-the-words-that-go-with-the-branch-chart": (
        "Market St takes most of its money on weekdays, up to 45.10 on Thursday, while Riverside earns most "
        "at the weekend (33.70 on Saturday and 34.90 on Sunday). So the two branches serve different "
        "customers: commuters at Market St and weekend visitors at Riverside. I would move one Market St "
        "shift to Riverside on Saturdays and Sundays, and check a few more weeks of sales first, because "
        "this is one week of data."),
    "explain-how-you-would-find-the-best-seller-in-each-category": (
        "First I join `order_items` to `products` and sum `quantity * unit_price` per product, in a CTE. "
        "Then I rank the products with `RANK() OVER (PARTITION BY category ORDER BY revenue DESC)`, which "
        "restarts at 1 in every category and gives tied products the same rank, so a tie shows both. "
        "Window functions run after `WHERE`, so I cannot filter on the rank there: I keep `rank = 1` in an "
        "outer query.\n\n"
        "```sql\nWITH revenue AS (\n  SELECT p.category, p.name, SUM(oi.quantity * oi.unit_price) AS revenue\n"
        "  FROM order_items AS oi JOIN products AS p ON p.product_id = oi.product_id\n"
        "  GROUP BY p.category, p.name\n), ranked AS (\n"
        "  SELECT *, RANK() OVER (PARTITION BY category ORDER BY revenue DESC) AS place FROM revenue\n)\n"
        "SELECT category, name, revenue FROM ranked WHERE place = 1;\n```"),
    "plan-the-accessibility-test-of-a-booking-form": (
        "A Lighthouse score only covers what a tool can detect, roughly a third of the WCAG criteria, so "
        "100 means no automated failures, not an accessible form. Before release I would test with the "
        "keyboard alone: every field, the date picker and the submit button must be reachable in a "
        "sensible order with visible focus, which a tool cannot judge. I would zoom to 400% and check "
        "that nothing is cut off or needs scrolling in two directions, which shows layouts that break on "
        "reflow. I would do a screen reader pass with NVDA and Firefox, filling in the form and making "
        "mistakes on purpose, to hear whether labels make sense and whether errors are announced. "
        "Finally I would check that errors are not shown by colour alone and that the messages say how "
        "to fix the problem."),
}
GENERIC_ESSAY = ("I would start from the question, explain each step with an example from the course's "
                 "data, and say how I would check the result before relying on it.")
ESSAY_COMMENT = "Clear and complete: every point the question asks for, with the reasoning behind it."


class NoRightAnswer(ValueError):
    """A question the demo cannot answer for full points (the message names it)."""


def pass_quiz(db: Session, enrollment_id: int, item_id: int, now: datetime) -> QuizAttempt:
    """Pass the quiz with full points, passed at ``now`` (started a few minutes before; an essay's
    attempt is handed in ESSAY_WAIT earlier and graded at ``now``). A quiz the learner has already
    passed is left alone: its passing attempt is returned."""
    passed = db.scalar(select(QuizAttempt).where(
        QuizAttempt.enrollment_id == enrollment_id, QuizAttempt.quiz_item_id == item_id,
        QuizAttempt.passed.is_(True)).order_by(QuizAttempt.number).limit(1))
    if passed is not None:
        return passed
    quiz = services.get_quiz(db, item_id)
    submitted_at = now - ESSAY_WAIT if any(r.type == Essay.type for r in quiz.questions) else now
    minutes = 2 + len(quiz.questions)  # about a minute a question, and a moment to read the introduction
    if quiz.settings.get("time_limit"):
        minutes = min(minutes, quiz.settings["time_limit"] - 2)
    attempt = services.start_attempt(db, enrollment_id, quiz, submitted_at - timedelta(minutes=minutes))
    records = services.question_records(db, [entry["question_id"] for entry in attempt.layout])
    responses = {question_id: right_response(record.question, record.key)
                 for question_id, record in records.items() if record.question.scored}
    services.save_responses(db, attempt, responses, submitted_at - timedelta(seconds=30))
    attempt = services.submit_attempt(db, attempt.id, submitted_at, quiz)
    # (Read as columns: the submit wrote the scores past the ORM, so loaded answers are stale.)
    pending = db.execute(select(AttemptAnswer.id, AttemptAnswer.question_id).where(
        AttemptAnswer.attempt_id == attempt.id, AttemptAnswer.status == "pending")).all()
    if pending:
        course_id = db.scalar(select(Item.course_id).where(Item.id == item_id))
        grader_id = course_grader(db, course_id)
        for answer_id, question_id in pending:
            attempt = services.grade_essay(db, answer_id, course_id, grader_id, records[question_id].points,
                                           ESSAY_COMMENT, now)
    if not attempt.passed or attempt.points_earned != attempt.points_possible:
        raise NoRightAnswer(f"quiz item {item_id}: the demo's answers scored {attempt.points_earned:g} of "
                            f"{attempt.points_possible:g}")
    return attempt


def course_grader(db: Session, course_id: int) -> int:
    """The course's grader who scores the demo essays (the first granted; else an instructor)."""
    grader_id = db.scalar(select(CourseRole.user_id).where(CourseRole.course_id == course_id)
                          .order_by(CourseRole.role != "grader", CourseRole.id).limit(1))
    if grader_id is None:
        raise NoRightAnswer(f"course {course_id} has no grader or instructor to grade its essays")
    return grader_id


def right_response(question: Question, key: str) -> Any:
    """The canonical response (lms/questions/scoring.py's shapes) that earns the question's full points."""
    if isinstance(question, Essay):
        return ESSAYS.get(key, GENERIC_ESSAY)  # (scored by a grader)
    if isinstance(question, SingleChoice):
        response: Any = max(range(len(question.choices)), key=lambda i: question.choices[i].fraction)
    elif isinstance(question, MultipleResponse):
        response = [i for i, choice in enumerate(question.choices) if choice.fraction > 0]
    elif isinstance(question, TrueFalse):
        response = question.answer
    elif isinstance(question, ShortAnswer):
        response = _typed(question.answers, question.case_sensitive, key)
    elif isinstance(question, Numerical):
        best = max(question.answers, key=lambda a: a.fraction if not a.is_catch_all else -1)
        response = f"{best.value if best.low is None else (best.low + best.high) / 2:g}"
    elif isinstance(question, Matching):
        response = [pair.answer for pair in question.pairs if pair.prompt.text.strip()]
    elif isinstance(question, Ordering):
        response = list(range(len(question.items)))
    elif isinstance(question, FillInBlanks):
        response = [max(range(len(gap.choices)), key=lambda i, gap=gap: gap.choices[i].fraction)
                    if gap.kind == "select" else _typed(gap.answers, gap.case_sensitive, key)
                    for gap in question.gaps]
    else:
        raise NoRightAnswer(f"question {key!r}: the demo cannot answer a {question.type!r} question")
    if score(question, response).fraction < 1.0:
        raise NoRightAnswer(f"question {key!r}: no answer the demo tried earns full points")
    return response


def _typed(answers: tuple[TextAnswer, ...], case_sensitive: bool, key: str) -> str:
    """An accepted text the scorer matches to a full-points answer (the first one listed that is not a
    pattern: patterns and the ``*`` catch-all are not texts to type)."""
    for answer in answers:
        if answer.regex or answer.text == "*" or answer.fraction < 1.0:
            continue
        matched = match_text(answers, answer.text, case_sensitive)
        if matched is not None and matched.fraction >= 1.0:
            return answer.text
    raise NoRightAnswer(f"question {key!r}: no accepted answer is plain text")
