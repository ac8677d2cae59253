"""Instructors' item analysis pages and graders' essay grading."""

from __future__ import annotations

from sqlalchemy import select

from lms.auth.services import grant
from lms.db import utcnow
from lms.enrollments.models import ItemCompletion
from lms.quizzes import services
from lms.quizzes.models import AttemptAnswer, QuizAttempt
from tests.quizzes.test_services import _responses

QUIZ_URL = "/courses/quiz-course/module-1/check"


def _submitted(db, setup, right=True):
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, attempt, _responses(db, attempt, right), utcnow())
    services.submit_attempt(db, attempt.id, utcnow())
    db.commit()
    return attempt


def test_item_analysis_page_and_csv_for_instructors_only(auth, client, db, make_user, quiz_setup):
    setup = quiz_setup()
    _submitted(db, setup)
    teacher = make_user("teacher@example.com")
    grant(db, teacher, "instructor", "quiz-course")
    db.commit()
    auth.login("learner@example.com")
    assert client.get(f"{QUIZ_URL}/analysis").status_code == 403
    auth.logout()
    auth.login("teacher@example.com")
    page = client.get(f"{QUIZ_URL}/analysis").get_data(as_text=True)
    assert "Item analysis" in page and "Cronbach" in page and "100%" in page
    csv = client.get(f"{QUIZ_URL}/analysis.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    assert csv.get_data(as_text=True).startswith("question,key,version")
    assert client.get("/courses/quiz-course/module-1/lesson-1/analysis").status_code == 404


def test_graders_grade_pending_essays_and_the_attempt_settles(auth, client, db, make_user, quiz_setup):
    setup = quiz_setup(essay=True)
    attempt = _submitted(db, setup)
    assert attempt.passed is None and attempt.pending == 1
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", "quiz-course")
    db.commit()
    auth.login("grader@example.com")
    page = client.get("/courses/quiz-course/essays").get_data(as_text=True)
    assert "Because packages differ per project." in page and "learner" in page.lower()
    essay = db.scalar(select(AttemptAnswer).where(AttemptAnswer.status == "pending"))
    bad = auth.post(f"/courses/quiz-course/essays/{essay.id}", {"points": "7"}, form_page="/courses/quiz-course/essays")
    assert bad.status_code == 302
    assert "between 0 and 1" in client.get(bad.headers["Location"]).get_data(as_text=True)
    auth.post(f"/courses/quiz-course/essays/{essay.id}", {"points": "abc"}, form_page="/courses/quiz-course/essays")
    done = auth.post(f"/courses/quiz-course/essays/{essay.id}", {"points": "1", "comment": "Clear and right."},
                     form_page="/courses/quiz-course/essays")
    assert done.status_code == 302
    db.expire_all()
    settled = db.get(QuizAttempt, attempt.id)
    assert settled.pending == 0 and settled.passed is True and settled.points_earned == 5
    assert db.scalar(select(ItemCompletion.how)) == "passed"
    assert "No essay is waiting" in client.get("/courses/quiz-course/essays").get_data(as_text=True)
    again = auth.post(f"/courses/quiz-course/essays/{essay.id}", {"points": "0"},
                      form_page="/courses/quiz-course/essays")
    assert "already graded" in client.get(again.headers["Location"]).get_data(as_text=True)
    auth.logout()
    auth.login("learner@example.com")
    review = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    assert "Clear and right." in review


def test_learners_cannot_grade(auth, client, db, quiz_setup):
    setup = quiz_setup(essay=True)
    _submitted(db, setup)
    auth.login("learner@example.com")
    assert client.get("/courses/quiz-course/essays").status_code == 403
    essay = db.scalar(select(AttemptAnswer).where(AttemptAnswer.status == "pending"))
    assert auth.post(f"/courses/quiz-course/essays/{essay.id}", {"points": "1"}).status_code == 403


def test_regrade_command(app, db, quiz_setup):
    setup = quiz_setup()
    _submitted(db, setup)
    run = app.test_cli_runner().invoke
    assert "name the quiz as COURSE/MODULE/QUIZ" in run(args=["quizzes", "regrade", "nope", "--question", "x"]).output
    missing = run(args=["quizzes", "regrade", "quiz-course/module-1/nope", "--question", "x"])
    assert missing.exit_code == 1 and "no quiz at" in missing.output
    unknown = run(args=["quizzes", "regrade", "quiz-course/module-1/check", "--question", "x"])
    assert unknown.exit_code == 1 and "No live question with key 'x'" in unknown.output
    dry = run(args=["quizzes", "regrade", "quiz-course/module-1/check", "--question", "capital-of-france",
                    "--dry-run"])
    assert dry.exit_code == 0 and "0 answer(s) would change" in dry.output


def test_course_page_links_staff_to_their_tools(auth, client, db, make_user, quiz_setup):
    quiz_setup()
    teacher = make_user("teacher@example.com")
    grant(db, teacher, "instructor", "quiz-course")
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", "quiz-course")
    db.commit()
    auth.login("learner@example.com")
    assert "For course staff" not in client.get("/courses/quiz-course").get_data(as_text=True)
    auth.logout()
    auth.login("grader@example.com")
    page = client.get("/courses/quiz-course").get_data(as_text=True)
    assert "Essays to grade" in page and "Item analysis" not in page
    auth.logout()
    auth.login("teacher@example.com")
    page = client.get("/courses/quiz-course").get_data(as_text=True)
    assert f'href="{QUIZ_URL}/analysis"' in page


def test_instructors_find_the_item_analysis_from_the_quiz_page(auth, client, db, make_user, quiz_setup):
    quiz_setup()
    teacher = make_user("teacher@example.com")
    grant(db, teacher, "instructor", "quiz-course")
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", "quiz-course")
    db.commit()
    auth.login("teacher@example.com")
    page = client.get(QUIZ_URL).get_data(as_text=True)
    assert f'href="{QUIZ_URL}/analysis"' in page and "previewing this lesson" not in page
    auth.logout()
    auth.login("grader@example.com")
    assert f'href="{QUIZ_URL}/analysis"' not in client.get(QUIZ_URL).get_data(as_text=True)
