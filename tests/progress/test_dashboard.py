"""The dashboard, and SQL statements per request that do not grow with the learner's courses."""

from __future__ import annotations


def _learner_with_courses(make_user, make_course, enroll, count: int, email: str):
    user = make_user(email)
    for n in range(count):
        enroll(user, make_course(f"course-{n:02d}", modules=2, lessons=2))
    return user


def test_dashboard_lists_courses_with_percent_and_next_step(auth, client, make_user, make_course, enroll):
    _learner_with_courses(make_user, make_course, enroll, 2, "me@example.com")
    auth.login("me@example.com")
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count("0% done") == 2
    assert "Start: 1.1 Lesson 1.1" in page


def test_empty_dashboard_points_to_the_catalog(auth, client, make_user):
    make_user("me@example.com")
    auth.login("me@example.com")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "not enrolled in any course yet" in page
    assert 'href="/courses"' in page


def _statements(client, count_queries, url: str) -> int:
    client.get(url)  # warm the per-process outline cache, as in steady state
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return counter.count


def test_dashboard_queries_do_not_grow_with_enrollments(app, auth, count_queries, make_user, make_course, enroll):
    from tests.conftest import Auth

    _learner_with_courses(make_user, make_course, enroll, 20, "many@example.com")
    few = make_user("few@example.com")
    enroll(few, make_course("course-00"))  # already created above: enroll() reuses it
    auth.login("many@example.com")
    many_count = _statements(auth.client, count_queries, "/dashboard")
    other = app.test_client()
    Auth(other).login("few@example.com")
    few_count = _statements(other, count_queries, "/dashboard")
    assert many_count == few_count
    # The user; the courses with progress; the credentials held; the courses' achievements (no credential
    # here, so eligibility stops there); the pathways.
    assert many_count <= 5


def test_lesson_page_queries_do_not_grow_with_enrollments(app, auth, count_queries, make_user, make_course, enroll):
    from tests.conftest import Auth

    _learner_with_courses(make_user, make_course, enroll, 20, "many@example.com")
    make_user("few@example.com")
    auth.login("many@example.com")
    url = "/courses/course-00/module-1/lesson-1"
    many_count = _statements(auth.client, count_queries, url)
    other = app.test_client()
    Auth(other).login("few@example.com")
    auth.client = other
    from lms.catalog.models import Course  # noqa: F401
    enroll_page = "/courses/course-00"
    auth.post("/courses/course-00/enroll", {"track": "credential"}, form_page=enroll_page)
    few_count = _statements(other, count_queries, url)
    assert many_count == few_count
    assert many_count <= 5


def test_dashboard_shows_best_quiz_scores_and_unchanged_statements_with_attempts(
        app, db, auth, count_queries, make_user, courses_root, enroll):
    from sqlalchemy import select

    from lms.catalog.models import Course, Item
    from lms.db import utcnow
    from lms.quizzes.demo import pass_quiz
    from tests.enrollments.test_adaptive_paths import _fail_quiz, _sync, _write

    courses = [_sync(db, app, _write(courses_root, f"scored-{n}", modules=2, module_quizzes=(1, 2)))
               for n in range(3)]
    busy, quiet = make_user("busy@example.com"), make_user("quiet@example.com")
    for course in courses:
        quizzes = db.scalars(select(Item.id).where(Item.course_id == course.id, Item.kind == "quiz")
                             .order_by(Item.id)).all()
        enrollment = enroll(busy, course)
        _fail_quiz(db, enrollment.id, quizzes[0])
        pass_quiz(db, enrollment.id, quizzes[0], utcnow())
        db.commit()
        enroll(quiet, course)
    auth.login("busy@example.com")
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert page.count("Best quiz scores: 1.3 100% · 2.3 not taken") == 3
    busy_count = _statements(auth.client, count_queries, "/dashboard")
    other = app.test_client()
    from tests.conftest import Auth
    Auth(other).login("quiet@example.com")
    assert "Best quiz scores: 1.3 not taken · 2.3 not taken" in other.get("/dashboard").get_data(as_text=True)
    assert busy_count == _statements(other, count_queries, "/dashboard")
    assert db.scalar(select(Course.id).where(Course.slug == "scored-0")) is not None
