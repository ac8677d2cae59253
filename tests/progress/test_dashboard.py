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
