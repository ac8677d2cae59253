"""Taking a quiz through the web: start, save, resume, submit once, review; nothing leaks early."""

from __future__ import annotations

import re

from sqlalchemy import select

from lms.enrollments.models import ItemCompletion
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt
from tests.conftest import csrf_token

QUIZ_URL = "/courses/quiz-course/module-1/check"


def _login(auth, setup):
    assert auth.login(setup.user.email).status_code == 302


def _form_fields(page: str) -> dict:
    """The attempt form's field names, in page order, with the displayed options' labels."""
    return dict(re.findall(r'name="(q\d+[^"]*)" value="([^"]*)"', page))


def _right_answers_form(db, attempt) -> dict:
    """Form data answering every question right, using the attempt's displayed order."""
    data = {}
    for entry in attempt.layout:
        version = db.get(QuestionVersion, entry["question_id"])
        field = f"q{version.id}"
        if version.type == "single":
            data[field] = str(entry["order"].index(0))
        elif version.type == "multi":
            data[field] = [str(entry["order"].index(0)), str(entry["order"].index(1))]
            data[f"{field}-present"] = "1"
        elif version.type == "short":
            data[field] = "  PARIS "
        elif version.type == "numerical":
            data[field] = "10,0"
    return data


def test_the_quiz_page_shows_rules_and_a_start_button(auth, client, quiz_setup):
    setup = quiz_setup("pass_score: 60\nattempts: 2\ntime_limit: 15")
    _login(auth, setup)
    page = client.get(QUIZ_URL).get_data(as_text=True)
    assert "Start the quiz" in page and "0 of 2 used" in page and "15 min" in page and "60%" in page


def test_take_save_resume_submit_review(auth, client, db, quiz_setup):
    setup = quiz_setup()
    _login(auth, setup)
    started = auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    assert started.headers["Location"] == f"{QUIZ_URL}/attempts/1"
    page = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    # Nothing that tells right from wrong is on the page before the answers are final.
    for secret in ("Yes: two items.", "Count again.", "since 987", "fraction", "correct"):
        assert secret not in page, secret
    db.rollback()
    attempt = db.scalars(select(QuizAttempt)).one()
    data = _right_answers_form(db, attempt)
    saved = auth.post(f"{QUIZ_URL}/attempts/1", {**data, "action": "save"}, form_page=f"{QUIZ_URL}/attempts/1")
    assert saved.status_code == 302
    again = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)  # a reload resumes the answers
    assert 'value="  PARIS "' in again and "checked" in again
    assert auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL).headers["Location"].endswith("/attempts/1")
    submitted = auth.post(f"{QUIZ_URL}/attempts/1", {**data, "action": "submit"},
                          form_page=f"{QUIZ_URL}/attempts/1")
    assert submitted.headers["Location"] == f"{QUIZ_URL}/attempts/1"
    review = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    assert "100%" in review and "Passed" in review
    assert "Yes: two items." in review and "since 987" in review  # feedback after submitting
    db.rollback()
    assert db.scalar(select(ItemCompletion.how)) == "passed"
    # The dashboard counts the passed quiz as done.
    assert "activities" in client.get("/dashboard").get_data(as_text=True)


def test_a_late_second_submit_changes_nothing(auth, client, db, quiz_setup):
    setup = quiz_setup()
    _login(auth, setup)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    db.rollback()
    attempt = db.scalars(select(QuizAttempt)).one()
    data = _right_answers_form(db, attempt)
    token = csrf_token(client, f"{QUIZ_URL}/attempts/1")
    client.post(f"{QUIZ_URL}/attempts/1", data={**data, "action": "submit", "csrf_token": token})
    wrong = {key: "0" for key in data}
    second = client.post(f"{QUIZ_URL}/attempts/1", data={**wrong, "action": "submit", "csrf_token": token})
    assert second.status_code == 302
    assert "already been submitted" in client.get(second.headers["Location"]).get_data(as_text=True)
    db.expire_all()
    assert db.get(QuizAttempt, attempt.id).points_earned == 4


def test_feedback_never_and_after_pass(auth, client, db, quiz_setup):
    setup = quiz_setup("pass_score: 60\nfeedback: after_pass")
    _login(auth, setup)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    auth.post(f"{QUIZ_URL}/attempts/1", {"action": "submit"}, form_page=f"{QUIZ_URL}/attempts/1")
    review = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    assert "Not passed" in review and "shown once you pass" in review and "Yes: two items." not in review


def test_immediate_feedback_checks_one_question(auth, client, db, quiz_setup):
    setup = quiz_setup("feedback: immediately")
    _login(auth, setup)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    db.rollback()
    attempt = db.scalars(select(QuizAttempt)).one()
    data = _right_answers_form(db, attempt)
    first = attempt.layout[0]["question_id"]
    checked = auth.post(f"{QUIZ_URL}/attempts/1", {**data, "action": f"check:{first}"},
                        form_page=f"{QUIZ_URL}/attempts/1")
    assert checked.headers["Location"].endswith(f"#question-{first}")
    page = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    assert "Correct" in page
    assert page.count("Check this answer") == 3


def test_autosave_json_and_closed_attempts(auth, client, db, quiz_setup):
    setup = quiz_setup()
    _login(auth, setup)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    db.rollback()
    attempt = db.scalars(select(QuizAttempt)).one()
    data = _right_answers_form(db, attempt)
    token = csrf_token(client, f"{QUIZ_URL}/attempts/1")
    saved = client.post(f"{QUIZ_URL}/attempts/1/autosave", data=data, headers={"X-CSRFToken": token})
    assert saved.status_code == 200 and saved.json == {"saved": 4, "closed": False}
    assert "fraction" not in saved.get_data(as_text=True)
    assert len(db.scalars(select(AttemptAnswer)).all()) == 4
    no_token = client.post(f"{QUIZ_URL}/attempts/1/autosave", data=data)
    assert no_token.status_code == 400
    client.post(f"{QUIZ_URL}/attempts/1", data={"action": "submit", "csrf_token": token})
    closed = client.post(f"{QUIZ_URL}/attempts/1/autosave", data=data, headers={"X-CSRFToken": token})
    assert closed.status_code == 409 and closed.json["closed"] is True


def test_other_learners_cannot_see_an_attempt(app, auth, client, db, quiz_setup):
    from tests.conftest import Auth

    setup = quiz_setup()
    _login(auth, setup)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    other = quiz_setup(email="other@example.com")
    other_client = app.test_client()
    Auth(other_client).login(other.user.email)
    assert other_client.get(f"{QUIZ_URL}/attempts/1").status_code == 404
    assert client.get(f"{QUIZ_URL}/attempts/99").status_code == 404


def test_limits_are_explained(auth, client, db, quiz_setup):
    setup = quiz_setup("attempts: 1")
    _login(auth, setup)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    auth.post(f"{QUIZ_URL}/attempts/1", {"action": "submit"}, form_page=f"{QUIZ_URL}/attempts/1")
    refused = auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    assert refused.headers["Location"] == QUIZ_URL
    page = client.get(QUIZ_URL).get_data(as_text=True)
    assert "You have used all 1 attempts" in page or "used all your attempts" in page


def test_intro_time_left_and_lesson_pointers(auth, client, db, quiz_setup, courses_root):
    setup = quiz_setup("time_limit: 10")
    quiz_file = courses_root / "quiz-course" / "01-module-1" / "09-check.md"
    text = quiz_file.read_text().replace("## Capital of France?", "## Capital of France? {lesson=lesson-2}")
    quiz_file.write_text(text.replace("---\n## What", "---\nRead module 1 first.\n\n## What", 1))
    from lms.catalog.services import sync_courses
    from lms.content import load_courses

    sync_courses(db, load_courses(courses_root / "quiz-course").courses,
                 client.application.config["LMS_SETTINGS"].media_dir)
    db.commit()
    _login(auth, setup)
    assert "Read module 1 first." in client.get(QUIZ_URL).get_data(as_text=True)
    auth.post(f"{QUIZ_URL}/attempts", form_page=QUIZ_URL)
    page = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    assert 'data-seconds-left="' in page and "left when this page was loaded" in page
    auth.post(f"{QUIZ_URL}/attempts/1", {"action": "submit"}, form_page=f"{QUIZ_URL}/attempts/1")
    review = client.get(f"{QUIZ_URL}/attempts/1").get_data(as_text=True)
    assert 'Study this again: <a href="/courses/quiz-course/module-1/lesson-2">1.2 Lesson 1.2</a>' in review
