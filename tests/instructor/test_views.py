"""The course dashboard's pages: who may see them, the snapshot read and refreshed in the background,
CSV downloads, learners at risk and nudges (each learner at most once a week), wrong input answered
with a message and no partial state, and a fixed number of statements per page."""

from __future__ import annotations

import csv
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from lms.auth.services import grant
from lms.catalog.models import Course
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.instructor import services
from lms.instructor.models import CourseStats
from lms.jobs.models import Job
from lms.notifications.models import Notification
from lms.notifications.services import EMAIL_JOB
from tests.instructor.conftest import add_learners

URL = "/teach/taught-course"


@pytest.fixture
def course(taught):
    return taught(now=utcnow())


def _nudges(db) -> list[Notification]:
    db.rollback()
    return list(db.scalars(select(Notification).where(Notification.kind == "nudge").order_by(Notification.user_id)))


def _nudge(auth, data: dict):
    return auth.post(URL + "/nudge", data, form_page=URL + "/at-risk")


def test_who_may_see_the_dashboard(client, auth, db, course, make_user):
    assert client.get(URL).status_code == 302  # to the login page
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", "taught-course")
    db.commit()
    for email in ("a-taught-course@example.com", "grader@example.com"):
        auth.login(email)
        assert client.get(URL).status_code == 403
        assert client.get(URL + "/at-risk").status_code == 403
        assert client.get(URL + "/funnel.csv").status_code == 403
        auth.logout()
    make_user("admin@example.com", admin=True)
    for email in (course.instructor.email, "admin@example.com"):
        auth.login(email)
        page = client.get(URL)
        assert page.status_code == 200 and "Completion by module" in page.get_data(as_text=True)
        auth.logout()


def test_teach_lists_only_the_instructors_courses_and_flags_overdue_reviews(client, auth, db, taught, make_user):
    mine = taught(now=utcnow())
    taught(slug="not-mine", learners={}, now=utcnow())
    db.execute(update(Course).where(Course.id == mine.course.id)
               .values(reviewed_on=utcnow().date() - timedelta(days=800), review_every_months=12))
    db.commit()
    auth.login(mine.instructor.email)
    page = client.get("/teach").get_data(as_text=True)
    assert "/teach/taught-course" in page and "/teach/not-mine" not in page
    assert "overdue for review" in page and ">overdue<" in page
    assert 'href="/teach"' in client.get("/courses").get_data(as_text=True)  # the header's Teach link
    auth.logout()
    learner = make_user("plain@example.com")
    assert learner
    auth.login("plain@example.com")
    assert 'href="/teach"' not in client.get("/courses").get_data(as_text=True)
    page = client.get("/teach")
    assert page.status_code == 200 and "You are not an instructor of any course" in page.get_data(as_text=True)


def test_the_first_view_computes_a_small_course_and_later_views_read_the_snapshot(client, auth, db, course):
    auth.login(course.instructor.email)
    page = client.get(URL).get_data(as_text=True)
    assert page.count('<svg class="chart" role="img"') == 4  # enrollments, funnel, quizzes, credentials
    assert re.search(r'fact-label">At risk</span> <a [^>]+>3<', page)
    db.rollback()
    snapshot = db.get(CourseStats, course.course.id)
    assert snapshot is not None and snapshot.data["learners"]["total"] == 6
    # Fresh: nothing is queued.
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == services.REFRESH_JOB)) == 0


def test_a_stale_snapshot_is_shown_and_refreshed_in_the_background(client, auth, db, course, make_user, enroll):
    auth.login(course.instructor.email)
    client.get(URL)
    db.rollback()
    old = utcnow() - services.FRESH_FOR - timedelta(minutes=1)
    db.execute(update(CourseStats).where(CourseStats.course_id == course.course.id).values(computed_at=old))
    enroll(make_user("late@example.com"), course.course)  # a seventh learner, not in the stale figures
    page = client.get(URL).get_data(as_text=True)
    assert "updating in the background" in page
    assert re.search(r'fact-label">Learners</span> 6<', page)  # the stale figures, shown at once
    db.rollback()
    # Jobs run inline after the request in development and tests: the snapshot is new now.
    snapshot = db.get(CourseStats, course.course.id)
    assert snapshot.computed_at > old and snapshot.data["learners"]["total"] == 7
    assert "updating in the background" not in client.get(URL).get_data(as_text=True)


def test_a_large_course_without_a_snapshot_is_left_to_the_background_job(client, auth, db, course, monkeypatch):
    monkeypatch.setattr(services, "COMPUTE_INLINE_MAX_LEARNERS", 3)
    auth.login(course.instructor.email)
    page = client.get(URL)
    assert page.status_code == 200 and "being computed for the first time" in page.get_data(as_text=True)
    db.rollback()
    # The job ran after the request (inline in tests and development; cron or a worker in production).
    [job] = db.scalars(select(Job).where(Job.kind == services.REFRESH_JOB)).all()
    assert job.done_at is not None and db.get(CourseStats, course.course.id).data["learners"]["total"] == 6
    assert "Completion by module" in client.get(URL).get_data(as_text=True)


def test_a_waiting_refresh_is_not_queued_twice(db, course, monkeypatch):
    from lms.catalog.services import get_outline
    monkeypatch.setattr(services, "COMPUTE_INLINE_MAX_LEARNERS", 3)
    outline = get_outline(db, course.course)
    assert services.dashboard_state(db, outline).snapshot is None
    assert services.dashboard_state(db, outline).updating
    db.flush()
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == services.REFRESH_JOB)) == 1
    db.rollback()


def test_the_periodic_job_picks_courses_with_old_or_missing_snapshots(db, course, taught):
    other = taught(slug="other-course", now=utcnow())
    taught(slug="nobody-enrolled", learners={}, now=utcnow())
    now = utcnow()
    services.refresh_course_stats(db, course.course.id, now)
    db.commit()
    assert services.courses_to_refresh(db, now, timedelta(minutes=50)) == [other.course.id]
    later = now + timedelta(hours=1)
    assert services.courses_to_refresh(db, later, timedelta(minutes=50)) == [course.course.id, other.course.id]
    services.request_refresh(db, other.course.id)
    db.flush()
    assert services.courses_to_refresh(db, later, timedelta(minutes=50)) == [course.course.id]
    db.rollback()


def test_refresh_now_recomputes_but_not_twice_within_half_a_minute(client, auth, db, course, make_user, enroll):
    auth.login(course.instructor.email)
    client.get(URL)
    db.execute(update(CourseStats).values(computed_at=utcnow() - timedelta(minutes=1)))
    enroll(make_user("late@example.com"), course.course)  # (commits)
    answer = auth.post(URL + "/refresh", form_page=URL, follow_redirects=True).get_data(as_text=True)
    assert "The figures are up to date." in answer and re.search(r'fact-label">Learners</span> 7<', answer)
    again = auth.post(URL + "/refresh", form_page=URL, follow_redirects=True).get_data(as_text=True)
    assert "already current" in again


def test_csv_downloads(client, auth, db, course):
    auth.login(course.instructor.email)
    client.get(URL)
    funnel = client.get(URL + "/funnel.csv")
    assert funnel.headers["Content-Type"].startswith("text/csv")
    assert 'filename="taught-course-funnel-' in funnel.headers["Content-Disposition"]
    assert funnel.get_data(as_text=True).splitlines() == [
        "module,title,steps,learners_completed,percent_of_enrolled", "0,Enrolled,,6,100.0",
        "1,Module 1,3,1,16.7", "2,Module 2,2,2,33.3"]
    for chart in services.CHARTS:
        assert client.get(f"{URL}/{chart}.csv").status_code == 200, chart
    assert client.get(URL + "/nonsense.csv").status_code == 404


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(client, auth, db, taught):
    course = taught(now=utcnow(), names={"b": "=HYPERLINK(\"http://evil\")", "c": "+SUM(A1)"})
    auth.login(course.instructor.email)
    rows = client.get(URL + "/at-risk.csv").get_data(as_text=True).splitlines()
    assert rows[0] == "name,email,progress_percent,steps_done,steps_total,last_active,nudged_at"
    names = sorted(next(csv.reader([row]))[0] for row in rows[1:])
    assert names == ["'+SUM(A1)", "'=HYPERLINK(\"http://evil\")", "Learner F"]


def test_the_at_risk_list_is_live_and_escaped(client, auth, db, taught):
    course = taught(now=utcnow(), names={"b": "<script>alert(1)</script>"})
    auth.login(course.instructor.email)
    page = client.get(URL + "/at-risk").get_data(as_text=True)
    assert "3 learners at risk" in page and "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "Learner C" in page and "Learner F" in page and "Learner D" not in page and "Learner A" not in page
    # c comes back: at once off the list (the list is not the snapshot).
    db.execute(update(Enrollment).where(Enrollment.id == course.learners["c"].id).values(last_activity_at=utcnow()))
    db.commit()
    page = client.get(URL + "/at-risk").get_data(as_text=True)
    assert "2 learners at risk" in page and "Learner C" not in page


def test_nudging_selected_learners_notifies_and_emails_them_once_a_week(client, auth, db, course):
    auth.login(course.instructor.email)
    b, c = course.learners["b"], course.learners["c"]
    answer = _nudge(auth, {"scope": "selected", "enrollment": [str(b.id), str(c.id)], "message": "Come back!"})
    assert answer.status_code == 302
    notes = _nudges(db)
    assert [n.user_id for n in notes] == sorted([course.users["b"].id, course.users["c"].id])
    assert "Come back!" in notes[0].body and "Ines Instructor" in notes[0].body
    emails = db.scalars(select(Job).where(Job.kind == EMAIL_JOB)).all()
    assert sum(1 for job in emails if job.payload.get("kind") == "nudge") == 2
    page = client.get(URL + "/at-risk").get_data(as_text=True)
    assert "Nudge sent to 2 learners." in page
    # Again within the week: nobody receives a second one.
    _nudge(auth, {"scope": "selected", "enrollment": [str(b.id)], "message": "Again"})
    assert len(_nudges(db)) == 2
    assert "Skipped 1 learner: nudged in the last 7 days." in client.get(URL + "/at-risk").get_data(as_text=True)
    # A week later, once more.
    db.execute(update(Enrollment).where(Enrollment.id == b.id).values(nudged_at=utcnow() - timedelta(days=8)))
    db.commit()
    _nudge(auth, {"scope": "selected", "enrollment": [str(b.id)], "message": "Again"})
    assert len(_nudges(db)) == 3


def test_nudge_everyone_reaches_only_those_at_risk(client, auth, db, course):
    auth.login(course.instructor.email)
    _nudge(auth, {"scope": "all", "message": "Hello"})
    assert sorted(n.user_id for n in _nudges(db)) == sorted(course.users[k].id for k in "bcf")


def test_learners_not_at_risk_or_of_another_course_are_skipped(client, auth, db, course, taught):
    other = taught(slug="other-course", now=utcnow())
    auth.login(course.instructor.email)
    a = course.learners["a"]  # active: not at risk
    elsewhere = other.learners["b"]  # at risk, but in another course
    _nudge(auth, {"scope": "selected", "enrollment": [str(a.id), str(elsewhere.id)], "message": "Hi"})
    assert _nudges(db) == []
    assert "Skipped 2 learners no longer at risk." in client.get(URL + "/at-risk").get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"scope": "selected", "message": "Hi"}, "Select at least one learner"),
    ({"scope": "all", "message": "   "}, "Write the message to send"),
    ({"scope": "all", "message": "x" * (services.NUDGE_MAX_LENGTH + 1)}, "the limit is 2,000"),
    ({"scope": "everyone", "message": "Hi"}, "Choose whom to nudge"),
    ({"scope": "selected", "enrollment": ["12abc"], "message": "Hi"}, "Choose whom to nudge"),
    ({"scope": "selected", "enrollment": ["9" * 40], "message": "Hi"}, "Choose whom to nudge"),
])
def test_wrong_nudges_say_what_to_do_and_send_nothing(client, auth, db, course, data, message):
    auth.login(course.instructor.email)
    answer = _nudge(auth, data)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and message in page
    if data["message"].strip() and len(data["message"]) < 100:
        assert f">{data['message']}</textarea>" in page  # what they typed is kept
    assert _nudges(db) == []
    assert db.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.nudged_at.is_not(None))) == 0


def test_the_at_risk_count_stops_at_its_cap(client, auth, course, monkeypatch):
    monkeypatch.setattr(services, "AT_RISK_COUNT_CAP", 2)
    auth.login(course.instructor.email)
    page = client.get(URL + "/at-risk").get_data(as_text=True)
    assert "More than 2 learners at risk" in page and "Nudge everyone at risk (more than 2)" in page
    monkeypatch.setattr(services, "AT_RISK_COUNT_CAP", 3)
    assert "More than" not in client.get(URL + "/at-risk").get_data(as_text=True)


def test_a_bad_cursor_shows_the_first_page(client, auth, course):
    auth.login(course.instructor.email)
    for cursor in ("nonsense", "1-2-3", "9" * 39 + "-1", "-5"):
        assert client.get(URL + "/at-risk", query_string={"after": cursor}).status_code == 200


def test_at_risk_pages_follow_each_other(client, auth, db, course, make_user, enroll, monkeypatch):
    monkeypatch.setattr(services, "AT_RISK_PAGE", 2)
    auth.login(course.instructor.email)
    first = client.get(URL + "/at-risk").get_data(as_text=True)
    # Longest idle first: b (20 days), c (15), then f (14).
    assert first.index("Learner B") < first.index("Learner C") and "Learner F" not in first
    after = re.search(r'href="/teach/taught-course/at-risk\?after=([0-9-]+)"', first).group(1)
    second = client.get(URL + "/at-risk", query_string={"after": after}).get_data(as_text=True)
    assert "Learner F" in second and "Learner B" not in second and "Back to the first page" in second


def _statements(client, count_queries, url: str) -> int:
    client.get(url)  # warm the outline cache
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    return len(counter.statements)


def test_statements_per_page_do_not_grow_with_learners(client, auth, db, course, count_queries, make_user, enroll):
    auth.login(course.instructor.email)
    small = {url: _statements(client, count_queries, url) for url in (URL, URL + "/at-risk", "/teach")}
    add_learners(db, make_user, enroll, course,
                 {f"x{n}": (["1.1", "2.1"][: n % 3], [n % 2 == 0], n, 15 + n) for n in range(25)})
    auth.post(URL + "/refresh", form_page=URL)
    db.execute(update(CourseStats).values(computed_at=utcnow()))
    db.commit()
    bigger = {url: _statements(client, count_queries, url) for url in (URL, URL + "/at-risk", "/teach")}
    assert bigger == small
    # the session user, the course and roles, the snapshot, and the list of recent exports (test_exports.py)
    assert small[URL] <= 5, small


def test_a_learner_who_turned_nudge_emails_off_gets_the_notification_only(client, auth, db, course):
    from lms.notifications.services import set_email_choice
    set_email_choice(db, course.users["b"].id, "nudge", False)
    db.commit()
    assert "Reminders from the instructors of my courses" in _settings_page(auth, course.users["b"].email)
    auth.login(course.instructor.email)
    _nudge(auth, {"scope": "selected", "enrollment": [str(course.learners["b"].id), str(course.learners["c"].id)],
                  "message": "Hi"})
    assert len(_nudges(db)) == 2
    emails = [job for job in db.scalars(select(Job).where(Job.kind == EMAIL_JOB)) if job.payload.get("kind") == "nudge"]
    assert len(emails) == 1


def _settings_page(auth, email: str) -> str:
    auth.login(email)
    page = auth.client.get("/account/notifications").get_data(as_text=True)
    auth.logout()
    return page
