"""The review pages: a session one question per page, answering with POST-redirect-GET, the empty state,
bad input, and statements that do not grow with the cards and courses."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from lms.catalog.models import Course, Item
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.db import utcnow
from lms.enrollments.services import enroll
from lms.quizzes.models import QuestionVersion, QuizAttempt
from lms.spaced_review import services
from lms.spaced_review.models import ReviewCard
from tests.conftest import csrf_token, write_course
from tests.quizzes.conftest import QUIZ_TEMPLATE
from tests.spaced_review.conftest import cards, form_for

GRADES_NOTE = "never change a quiz grade"


def _make_due(db) -> None:
    db.execute(update(ReviewCard).values(due_at=utcnow() - timedelta(minutes=5)))
    db.commit()


def _first_due(db, setup):
    return services.next_session(db, setup.user.id, utcnow(), size=1)[0]


def _post(client, card, how="right", **extra):
    data = {**form_for(card, how).to_dict(flat=False), "csrf_token": csrf_token(client, "/review"), **extra}
    return client.post(f"/review/cards/{card.id}", data=data)


def test_the_review_page_needs_a_login(client):
    response = client.get("/review")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_nothing_to_review_yet(auth, client, quiz_setup):
    setup = quiz_setup()
    auth.login(setup.user.email)
    page = client.get("/review").get_data(as_text=True)
    assert "Nothing to review yet" in page and GRADES_NOTE in page


def test_nothing_due_says_when_the_next_review_is(auth, client, db, missed):
    setup, attempt = missed()
    auth.login(setup.user.email)
    page = client.get("/review").get_data(as_text=True)
    due = attempt.submitted_at + timedelta(days=1)
    assert "Nothing due" in page and "Next review:" in page
    assert f'datetime="{due.isoformat(timespec="seconds")}"' in page
    assert 'name="reviews"' not in page


def test_a_session_answers_one_question_then_shows_the_outcome(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    page = client.get("/review").get_data(as_text=True)
    assert "Question 1 of 2 due" in page and GRADES_NOTE in page
    assert "Quiz Course" in page and "2 due" in page  # the count by course
    card = _first_due(db, setup)
    assert f'action="/review/cards/{card.id}"' in page and 'name="csrf_token"' in page
    # Nothing on the question's page tells the right answer.
    assert "Yes: two items." not in page and "since 987" not in page

    response = _post(client, card, "right")
    assert response.status_code == 303 and response.headers["Location"] == f"/review/cards/{card.id}"
    outcome = client.get(f"/review/cards/{card.id}").get_data(as_text=True)
    assert "Right" in outcome and "Up to box 2 of 4" in outcome and "Next question" in outcome
    assert 'href="/review"' in outcome and GRADES_NOTE in outcome
    db.expire_all()
    assert db.get(ReviewCard, card.id).box == 2
    assert "Question 1 of 1 due" in client.get("/review").get_data(as_text=True)


def test_a_wrong_answer_shows_the_feedback_and_the_right_answer(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    card = next(c for c in services.next_session(db, setup.user.id, utcnow()) if c.record.type == "single")
    assert _post(client, card, "wrong").status_code == 303
    page = client.get(f"/review/cards/{card.id}").get_data(as_text=True)
    assert "Not right" in page and "Count again." in page  # the chosen option's feedback
    assert "The right answer:</strong> 2" in page and "Back to box 1" in page


def test_i_dont_know_shows_the_answer(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    card = next(c for c in services.next_session(db, setup.user.id, utcnow()) if c.record.type == "numerical")
    assert _post(client, card, "dont_know").status_code == 303
    page = client.get(f"/review/cards/{card.id}").get_data(as_text=True)
    assert "You chose to see the answer" in page and "The right answer:</strong> 10" in page


def test_a_course_filter_keeps_the_session_to_one_course(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    page = client.get("/review?course=quiz-course").get_data(as_text=True)
    assert "Question 1 of 2 due in Quiz Course" in page and 'name="course" value="quiz-course"' in page
    card = _first_due(db, setup)
    response = _post(client, card, "right", course="quiz-course")
    assert response.headers["Location"] == f"/review/cards/{card.id}?course=quiz-course"
    assert 'href="/review?course=quiz-course"' in client.get(response.headers["Location"]).get_data(as_text=True)
    other = client.get("/review?course=another-course").get_data(as_text=True)
    assert "Nothing due in this course" in other
    # A slug that is not one (typed or tampered) just means every course.
    assert "Question 1 of 1 due" in client.get("/review?course=%3Cscript%3E").get_data(as_text=True)


def test_a_malformed_answer_shows_the_same_question_again_with_a_message(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    due = services.next_session(db, setup.user.id, utcnow())
    card = due[-1]  # not the first due: the page must show again the question that was answered
    field = f"q{card.record.id}"
    token = csrf_token(client, "/review")
    for data in ({"reviews": "0", "action": "answer"}, {"action": "answer", field: "0"},
                 {"reviews": "abc", "action": "answer", field: "0"}, {"reviews": "5", "action": "answer", field: "0"},
                 {"reviews": "0", "action": "answer", field: ""},
                 {"reviews": "0", "action": "answer", field: " " * 3000}):
        response = client.post(f"/review/cards/{card.id}", data={**data, "csrf_token": token})
        page = response.get_data(as_text=True)
        assert response.status_code == 422, data
        assert 'role="alert"' in page and f'action="/review/cards/{card.id}"' in page, data
    db.expire_all()
    assert (db.get(ReviewCard, card.id).reviews, db.get(ReviewCard, card.id).box) == (0, 1)


def test_nothing_chosen_is_refused_and_changes_nothing(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    card = _first_due(db, setup)
    response = client.post(f"/review/cards/{card.id}", data={"reviews": "0", "action": "answer",
                                                             "csrf_token": csrf_token(client, "/review")})
    assert response.status_code == 422 and "Choose or type an answer first" in response.get_data(as_text=True)
    db.expire_all()
    assert (db.get(ReviewCard, card.id).reviews, db.get(ReviewCard, card.id).box) == (0, 1)


def test_the_same_form_sent_twice_moves_the_card_once(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    card = _first_due(db, setup)
    assert _post(client, card, "right").status_code == 303
    second = _post(client, card, "wrong")
    assert second.status_code == 303
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already answered this question" in page and "Up to box 2" in page
    db.expire_all()
    stored = db.get(ReviewCard, card.id)
    assert (stored.box, stored.reviews, stored.lapses) == (2, 1, 0)


def test_someone_elses_card_is_404_and_unchanged(auth, client, db, missed, make_user):
    setup, _attempt = missed()
    _make_due(db)
    card = _first_due(db, setup)
    make_user("stranger@example.com")
    auth.login("stranger@example.com")
    assert _post(client, card, "right").status_code == 404
    assert client.get(f"/review/cards/{card.id}").status_code == 404
    assert client.get("/review/cards/999999").status_code == 404
    db.expire_all()
    assert db.get(ReviewCard, card.id).reviews == 0


def test_answering_needs_the_csrf_token(auth, client, db, missed):
    setup, _attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    card = _first_due(db, setup)
    response = client.post(f"/review/cards/{card.id}", data=form_for(card, "right").to_dict(flat=False))
    assert response.status_code == 400
    db.expire_all()
    assert db.get(ReviewCard, card.id).reviews == 0


def test_a_card_not_due_yet_is_not_moved(auth, client, db, missed):
    setup, _attempt = missed()
    auth.login(setup.user.email)
    card = services.next_session(db, setup.user.id, utcnow() + timedelta(days=2), size=1)[0]
    response = _post(client, card, "right")
    assert response.status_code == 302 and response.headers["Location"] == "/review"
    assert "not due for review until" in client.get("/review").get_data(as_text=True)
    db.expire_all()
    assert db.get(ReviewCard, card.id).reviews == 0


def test_an_outcome_before_any_answer_goes_to_the_session(auth, client, db, missed):
    setup, _attempt = missed()
    auth.login(setup.user.email)
    card = db.scalars(select(ReviewCard)).first()
    response = client.get(f"/review/cards/{card.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/review"


def test_the_review_page_leaves_the_attempt_alone(auth, client, db, missed):
    setup, attempt = missed()
    _make_due(db)
    auth.login(setup.user.email)
    for _ in range(2):
        _post(client, _first_due(db, setup), "right")
    db.expire_all()
    stored = db.get(QuizAttempt, attempt.id)
    assert (stored.points_earned, stored.passed) == (attempt.points_earned, attempt.passed)
    assert len(cards(db)) == 2 and {c.box for c in cards(db).values()} == {2}


# -- statements -----------------------------------------------------------------------------------

def _add_course_with_cards(db, app, courses_root, user, n: int) -> None:
    """Course n, with the quiz of the quiz tests; the learner enrolled and holding a due card per question."""
    slug = f"review-course-{n}"
    folder = write_course(courses_root, slug, modules=1, lessons=1)
    (folder / "01-module-1" / "09-check.md").write_text(QUIZ_TEMPLATE.replace("{settings}", ""))
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    course = db.scalar(select(Course).where(Course.slug == slug))
    enrollment = enroll(db, user.id, course)
    item = db.scalar(select(Item).where(Item.course_id == course.id, Item.kind == "quiz"))
    missed_at = utcnow() - timedelta(days=2)
    for key in db.scalars(select(QuestionVersion.key).where(QuestionVersion.quiz_item_id == item.id)):
        db.add(ReviewCard(enrollment_id=enrollment.id, quiz_item_id=item.id, question_key=key, box=1,
                          due_at=missed_at + timedelta(days=1), reviews=0, lapses=0, created_at=missed_at,
                          missed_at=missed_at))
    db.commit()


def _statements(client, count_queries, url: str) -> int:
    client.get(url)  # warm the per-process caches, as in steady state
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_the_review_pages_statements_do_not_grow_with_cards_and_courses(app, auth, client, db, courses_root,
                                                                        make_user, count_queries):
    user = make_user("many@example.com")
    for n in range(2):
        _add_course_with_cards(db, app, courses_root, user, n)
    auth.login(user.email)
    few = _statements(client, count_queries, "/review")
    few_course = _statements(client, count_queries, "/review?course=review-course-1")
    card = services.next_session(db, user.id, utcnow(), size=1)[0]
    _post(client, card, "right")
    few_outcome = _statements(client, count_queries, f"/review/cards/{card.id}")

    for n in range(2, 12):  # 12 courses, 48 cards
        _add_course_with_cards(db, app, courses_root, user, n)
    page = client.get("/review").get_data(as_text=True)
    assert len(re.findall(r"review-course-\d+\"", page)) == 12 and "Question 1 of 47 due" in page
    assert _statements(client, count_queries, "/review") == few
    assert _statements(client, count_queries, "/review?course=review-course-1") == few_course
    assert _statements(client, count_queries, f"/review/cards/{card.id}") == few_outcome
    assert few <= 3 and few_course <= 3 and few_outcome <= 2  # the session user, the summary, the card

