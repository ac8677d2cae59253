"""Enrolling, reading lessons in order, marking them done, resuming, and the dashboard."""

from __future__ import annotations

from sqlalchemy import select

from lms.enrollments.models import Enrollment, ItemCompletion


def test_enroll_button_enrolls_with_the_chosen_track_once(auth, client, db, make_user, make_course):
    make_course("py")
    make_user("me@example.com")
    auth.login("me@example.com")
    page = client.get("/courses/py").get_data(as_text=True)
    assert ">Enroll</button>" in page
    response = auth.post("/courses/py/enroll", {"track": "audit"}, form_page="/courses/py")
    assert response.status_code == 302
    assert response.headers["Location"] == "/courses/py/continue"
    assert client.get("/courses/py/continue").headers["Location"] == "/courses/py/module-1/lesson-1"
    auth.post("/courses/py/enroll", {"track": "credential"}, form_page="/courses/py")  # a second click
    db.rollback()
    enrollments = db.scalars(select(Enrollment)).all()
    assert len(enrollments) == 1 and enrollments[0].track == "audit"


def test_enroll_with_an_unknown_track_is_refused(auth, client, db, make_user, make_course):
    make_course("py")
    make_user("me@example.com")
    auth.login("me@example.com")
    response = auth.post("/courses/py/enroll", {"track": "vip"}, form_page="/courses/py")
    assert response.status_code == 302
    assert "Choose a track" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(Enrollment.id)) is None


def test_enroll_in_unknown_course_is_404(auth, make_user):
    make_user("me@example.com")
    auth.login("me@example.com")
    assert auth.post("/courses/nope/enroll", {"track": "credential"}).status_code == 404


def test_lesson_page_shows_stored_html_and_navigation(auth, client, make_user, make_course, enroll):
    course = make_course("py")
    enroll(make_user("me@example.com", name="Ada Lovelace"), course)
    auth.login("me@example.com")
    page = client.get("/courses/py/module-1/lesson-2").get_data(as_text=True)
    assert "<h1>Lesson 1.2</h1>" in page
    assert 'class="highlight"' in page  # code highlighted at sync, with CSS classes
    assert '<img alt="A diagram" src="/media/' in page
    assert 'rel="prev" href="/courses/py/module-1/lesson-1"' in page
    assert 'rel="next" href="/courses/py/module-1/lesson-3"' in page
    last = client.get("/courses/py/module-2/lesson-3").get_data(as_text=True)
    assert 'rel="next"' not in last
    assert client.get("/courses/py/module-1/no-such-lesson").status_code == 404
    assert client.get("/courses/py/no-module/lesson-1").status_code == 404


def test_mark_done_moves_on_and_progress_shows_on_the_dashboard(auth, client, db, make_user, make_course, enroll):
    course = make_course("py")  # 6 lessons
    enroll(make_user("me@example.com"), course)
    auth.login("me@example.com")
    response = auth.post("/courses/py/module-1/lesson-1/done", form_page="/courses/py/module-1/lesson-1")
    assert response.headers["Location"] == "/courses/py/module-1/lesson-2"
    auth.post("/courses/py/module-1/lesson-1/done", form_page="/courses/py/module-1/lesson-1")  # twice: no change
    db.rollback()
    assert len(db.scalars(select(ItemCompletion)).all()) == 1
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "16% done" in dashboard  # 1 of 6, rounded down
    assert "Continue: 1.2 Lesson 1.2" in dashboard


def test_undo_mark_done(auth, client, db, make_user, make_course, enroll):
    course = make_course("py")
    enroll(make_user("me@example.com"), course)
    auth.login("me@example.com")
    auth.post("/courses/py/module-1/lesson-1/done", form_page="/courses/py/module-1/lesson-1")
    auth.post("/courses/py/module-1/lesson-1/undo", form_page="/courses/py/module-1/lesson-1")
    db.rollback()
    assert db.scalar(select(ItemCompletion.id)) is None


def test_finishing_every_lesson(auth, client, make_user, make_course, enroll):
    course = make_course("py", modules=1, lessons=2)
    enroll(make_user("me@example.com"), course)
    auth.login("me@example.com")
    auth.post("/courses/py/module-1/lesson-1/done", form_page="/courses/py/module-1/lesson-1")
    response = auth.post("/courses/py/module-1/lesson-2/done", form_page="/courses/py/module-1/lesson-2")
    assert response.headers["Location"] == "/courses/py"
    assert "100% done" in client.get("/dashboard").get_data(as_text=True)


def test_resume_goes_to_the_last_lesson_opened(auth, client, make_user, make_course, enroll):
    course = make_course("py")
    enroll(make_user("me@example.com"), course)
    auth.login("me@example.com")
    client.get("/courses/py/module-2/lesson-2")
    assert client.get("/courses/py/continue").headers["Location"] == "/courses/py/module-2/lesson-2"
    auth.post("/courses/py/module-2/lesson-2/done", form_page="/courses/py/module-2/lesson-2")
    assert client.get("/courses/py/continue").headers["Location"] == "/courses/py/module-2/lesson-3"


def test_not_enrolled_learner_cannot_read_or_mark(auth, client, make_user, make_course):
    make_course("py")
    make_user("me@example.com")
    auth.login("me@example.com")
    assert client.get("/courses/py/module-1/lesson-1").status_code == 403
    assert auth.post("/courses/py/module-1/lesson-1/done").status_code == 403


def test_instructor_previews_without_progress(auth, client, db, make_user, make_course):
    from lms.auth.services import grant

    make_course("py")
    teacher = make_user("teacher@example.com")
    grant(db, teacher, "instructor", "py")
    db.commit()
    auth.login("teacher@example.com")
    page = client.get("/courses/py/module-1/lesson-1").get_data(as_text=True)
    assert "previewing this lesson as course staff" in page
    assert auth.post("/courses/py/module-1/lesson-1/done", form_page="/courses/py").status_code == 302
    db.rollback()
    assert db.scalar(select(ItemCompletion.id)) is None


def test_mark_done_without_csrf_is_refused(auth, client, db, make_user, make_course, enroll):
    course = make_course("py")
    enroll(make_user("me@example.com"), course)
    auth.login("me@example.com")
    assert client.post("/courses/py/module-1/lesson-1/done").status_code == 400
    db.rollback()
    assert db.scalar(select(ItemCompletion.id)) is None


def test_a_quiz_page_is_not_a_dead_end(auth, client, db, app, courses_root, make_user, enroll):
    from lms.catalog.models import Course
    from lms.catalog.services import sync_courses
    from lms.content import load_courses
    from tests.conftest import write_course

    folder = write_course(courses_root, "py")
    (folder / "01-module-1" / "09-check.md").write_text(
        "---\ntype: quiz\ntitle: Module 1 check\n---\n## Q?\n- [x] yes\n- [ ] no\n")
    sync_courses(db, load_courses(folder).courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    enroll(make_user("me@example.com"), db.query(Course).one())
    auth.login("me@example.com")
    page = client.get("/courses/py/module-1/check").get_data(as_text=True)
    assert "Start the quiz" in page
    assert 'rel="prev" href="/courses/py/module-1/lesson-3"' in page
    assert 'rel="next" href="/courses/py/module-2/lesson-1"' in page


def test_summarize_next_step_rules():
    from lms.catalog.services import Outline, OutlineItem, OutlineModule
    from lms.enrollments.services import summarize

    items = tuple(OutlineItem(n, f"l{n}", "lesson", f"L{n}", None, "m", f"1.{n}", f"/c/m/l{n}", True)
                  for n in range(1, 5))
    outline = Outline(1, "h", "c", "C", (OutlineModule(1, "m", 1, "M", "", items),), None)
    assert summarize(outline, set(), None).next_step.id == 1
    assert summarize(outline, {1, 2}, 1).next_step.id == 3  # from the last opened onwards
    assert summarize(outline, {3, 4}, 3).next_step.id == 1  # wraps to the first unfinished
    finished = summarize(outline, {1, 2, 3, 4, 99}, 2)  # ids of retired items do not count
    assert finished.next_step is None and finished.percent == 100 and finished.done == 4
    assert summarize(outline, {1}, None).percent == 25
