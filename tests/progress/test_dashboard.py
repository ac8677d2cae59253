"""The dashboard, and SQL statements per request that do not grow with the learner's courses."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import dashboard_statements


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
    many_count = dashboard_statements(app, auth.client, count_queries)
    other = app.test_client()
    Auth(other).login("few@example.com")
    few_count = dashboard_statements(app, other, count_queries)
    assert many_count == few_count
    # Rendered: the user; the change stamps; the courses with progress, review counts and quiz scores;
    # the credentials held (none here, so no pathway is read); the next review due. The courses'
    # achievements are cached per course version. From the dashboard cache: the user and the stamps.
    assert many_count == (5, 2)


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
    busy_count = dashboard_statements(app, auth.client, count_queries)
    other = app.test_client()
    from tests.conftest import Auth
    Auth(other).login("quiet@example.com")
    assert "Best quiz scores: 1.3 not taken · 2.3 not taken" in other.get("/dashboard").get_data(as_text=True)
    assert busy_count == dashboard_statements(app, other, count_queries)
    assert db.scalar(select(Course.id).where(Course.slug == "scored-0")) is not None


def test_best_quiz_scores_are_truncated_percentages_of_submitted_attempts(app, db, make_user, courses_root, enroll):
    """The scores read with the enrollments: each quiz's best submitted attempt (points possible above 0),
    in whole percent truncated as int() does a float, the same on SQLite and PostgreSQL."""
    from datetime import UTC

    from sqlalchemy import select, update

    from lms.catalog.models import Item
    from lms.progress.services import learner_dashboard
    from lms.quizzes.models import QuizAttempt
    from tests.enrollments.test_adaptive_paths import _fail_quiz, _sync, _write

    course = _sync(db, app, _write(courses_root, "fractions", modules=2, module_quizzes=(1, 2)))
    first, second = db.scalars(select(Item.id).where(Item.course_id == course.id, Item.kind == "quiz")
                               .order_by(Item.id)).all()
    enrollment = enroll(make_user("scores@example.com"), course)
    points = {}  # attempt id -> (earned, possible)
    for quiz_id, earned, possible in ((first, 2.0, 3.0), (first, 1.0, 3.0),
                                      (second, 0.29, 1.0), (second, None, 4.0), (second, 5.0, 0.0)):
        points[_fail_quiz(db, enrollment.id, quiz_id).id] = (quiz_id, earned, possible)
    for attempt_id, (_quiz, earned, possible) in points.items():
        db.execute(update(QuizAttempt).where(QuizAttempt.id == attempt_id)
                   .values(points_earned=earned, points_possible=possible))
    db.commit()
    [card] = learner_dashboard(db, enrollment.user_id)
    # 2/3 is 66.66...%; 0.29 of 1 is 28.999999999999996% in floating point, 28 truncated (a rounding
    # CAST would say 29); an attempt without points (NULL) and one with nothing possible are left out.
    expected = {first: int(2.0 * 100.0 / 3.0), second: int(0.29 * 100.0 / 1.0)}
    assert card.best_scores == expected == {first: 66, second: 28}
    assert card.enrolled_on == enrollment.enrolled_at.astimezone(UTC).date()  # (the day in UTC, as text in SQL)


# -- the cards' rendering (lms/progress/cards.py) ---------------------------------------------------

def test_course_and_lesson_titles_are_escaped_on_the_dashboard(app, db, auth, make_user, enroll, courses_root):
    import json

    from lms.catalog.models import Course
    from lms.catalog.services import sync_courses
    from lms.content import load_courses
    from tests.conftest import write_course

    folder = write_course(courses_root, "escaped", title=json.dumps('<script>alert("t")</script> & <b>co</b>'))
    lesson = folder / "01-module-1" / "01-lesson-1.md"
    lesson.write_text(lesson.read_text().replace("title: Lesson 1.1", "title: '<img src=x onerror=alert(1)>'"))
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    user = make_user("me@example.com")
    enroll(user, db.query(Course).filter_by(slug="escaped").one())
    auth.login("me@example.com")
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>co</b>" not in page and "<img src=x" not in page
    assert '&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;</a></h3>' in page
    assert 'aria-label="Progress in &lt;script&gt;' in page
    assert "Start: 1.1 &lt;img src=x onerror=alert(1)&gt;</a>" in page


def test_a_sync_that_changes_a_course_shows_on_the_next_dashboard(db, auth, make_user, make_course, enroll):
    user = make_user("me@example.com")
    enroll(user, make_course("renamed", title="Old Name"))
    auth.login("me@example.com")
    assert "Old Name" in auth.client.get("/dashboard").get_data(as_text=True)  # (fragments now cached)
    make_course("renamed", title="New Name", lessons=3)  # a sync: the content hash changes
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert "New Name" in page and "Old Name" not in page


# The card loop as the template had it before lms/progress/cards.py (tests/progress/cards_loop_before.html):
# render_cards must give the same bytes for every state a card can be in.
_JINJA_CARDS = (Path(__file__).parent / "cards_loop_before.html").read_text(encoding="utf-8")


def _outline(course_id: int, title: str, quizzes: bool, capstone: bool):
    from lms.catalog.services import Outline, OutlineItem, OutlineModule

    def item(n: int, kind: str, title: str, role=None):
        return OutlineItem(course_id * 100 + n, f"item-{n}", kind, title, 5, "m", f"1.{n}",
                           f"/courses/c{course_id}/m/item-{n}?a=1&b=<2>", True, role)

    items = (item(1, "lesson", "Read <this> & \"that\""), item(2, "lesson", "Plain"))
    if quizzes:
        items += (item(3, "quiz", "Check <1>", "module"), item(4, "quiz", "Placement", "placement"),
                  item(5, "quiz", "Check 2", "module"))
    module = OutlineModule(course_id * 10, "m", 1, "Module", "", items)
    cap = OutlineItem(course_id * 100 + 99, "capstone", "capstone", "Capstone", None, None, "",
                      f"/courses/c{course_id}/capstone", True) if capstone else None
    return Outline(course_id, f"hash-{course_id}", f"c{course_id}", title, (module,), cap)


def test_render_cards_gives_the_markup_of_the_template_loop_in_every_state(app):
    from datetime import date
    from itertools import product

    from lms.credentials.eligibility import Blocker, Eligibility
    from lms.enrollments.services import Progress
    from lms.progress.cards import render_cards
    from lms.progress.services import CourseCard

    cards, scores, review_due, blockers, earned = [], {}, {}, {}, set()
    states = product(("credential", "audit"), (None, 0, 1), (None, "draft", "passed", "odd<state>"), (0, 1, 2),
                     ("none", "earned", "eligible", "one", "many"), (False, True))
    for n, (track, step_at, capstone_state, locks, credential, quizzes) in enumerate(states, start=1):
        outline = _outline(n, f"Course <{n}> & “quotes” \"{n}\"", quizzes, capstone=n % 3 != 0)
        step = None if step_at is None else outline.steps[step_at]
        done = 0 if step_at == 0 else n % len(outline.steps)
        progress = Progress(done, len(outline.steps), step, {i: object() for i in range(locks)})
        cards.append(CourseCard(n, 1000 + n, outline.course_slug, outline.course_title, track,
                                date(2026, 1 + n % 12, 1 + n % 28), outline, progress, set(), capstone_state))
        if quizzes and n % 2:
            scores[1000 + n] = {n * 100 + 3: n % 101}
        if n % 4:
            review_due[n] = n % 4
        if credential == "earned":
            earned.add(n)
        messages = {"none": (), "eligible": (), "one": ("Pass the quiz “<b>Check</b>”",),
                    "many": ("Verify your email address", "Pass the quiz “A & B”", "Submit your capstone project")}
        if credential != "earned":
            blockers[n] = Eligibility(None if credential == "none" else 7, 8,
                                      tuple(Blocker("quiz", m) for m in messages[credential]))
    env = app.jinja_env
    with app.test_request_context("/dashboard"):
        expected = env.from_string(_JINJA_CARDS).render(cards=cards, scores=scores, review_due=review_due,
                                                         blockers=blockers, earned=earned)
        rendered = render_cards(cards, scores, review_due, blockers, earned)
    assert len(cards) > 400
    assert str(rendered) == expected
