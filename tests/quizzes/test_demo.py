"""The demo's quiz taker (lms/quizzes/demo.py): every question type of the real courses answered right."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lms.auth.services import grant
from lms.catalog.models import Course, Item
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.db import utcnow
from lms.enrollments.services import enroll
from lms.questions.model import QUESTION_TYPES
from lms.quizzes.demo import pass_quiz
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt
from tests.conftest import ROOT


def test_pass_quiz_passes_every_quiz_of_the_real_courses_with_full_points(app, db, make_user):
    result = load_courses(ROOT / "courses")
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    learner, grader = make_user(name="Quiz Taker"), make_user(name="Essay Grader")
    now = utcnow()
    attempts = []
    for course in db.scalars(select(Course).order_by(Course.id)):
        grant(db, grader, "grader", course.slug)
        enrollment = enroll(db, learner.id, course)
        for item_id in db.scalars(select(Item.id).where(Item.course_id == course.id, Item.kind == "quiz")
                                  .order_by(Item.id)):
            attempts.append(pass_quiz(db, enrollment.id, item_id, now))
    db.commit()

    assert len(attempts) == 13  # 12 module quizzes and the SQL course's placement quiz
    for attempt in attempts:
        assert attempt.state == "submitted" and attempt.passed is True
        assert attempt.points_possible > 0 and attempt.points_earned == attempt.points_possible
        assert now - timedelta(hours=4) < attempt.started_at < attempt.submitted_at <= now
        if attempt.deadline is not None:
            assert attempt.submitted_at <= attempt.deadline
    answers = db.execute(select(AttemptAnswer, QuestionVersion.type)
                         .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_id)).all()
    answered = {kind for _answer, kind in answers}
    # Every type the real courses use (all but a description, which they do not have) was answered right.
    assert answered == set(QUESTION_TYPES) - {"description"}
    assert {answer.status for answer, _kind in answers} == {"correct"}
    essays = [answer for answer, kind in answers if kind == "essay"]
    assert len(essays) == 3 and all(a.graded_by_id == grader.id and a.fraction == 1 and a.graded_at == now
                                    for a in essays)

    # A quiz already passed is left alone.
    again = pass_quiz(db, attempts[0].enrollment_id, attempts[0].quiz_item_id, now + timedelta(days=1))
    assert again.id == attempts[0].id
    assert len(db.scalars(select(QuizAttempt)).all()) == 13
