"""Learners' progress exports: the exact CSV of a small course (CSV injection quoted), a fixed number of
statements whatever the number of learners, the whole loop from the dashboard's button through the
background job to the notification and the download, who may download, one queued export per course,
failures (retried, then failed with a reason), the 7-day clean-up, and a 2,000-learner course."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from lms.auth.models import User
from lms.auth.services import grant
from lms.credentials.models import Credential
from lms.db import utcnow
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.instructor import exports
from lms.instructor.models import CourseExport
from lms.instructor.services import _outline
from lms.jobs import PERIODIC_JOBS, job_settings, run_jobs
from lms.jobs.models import Job
from lms.notifications.models import Notification
from tests.capstones.conftest import submitted
from tests.instructor.conftest import NOW

URL = "/teach/taught-course"
EVIL = '=HYPERLINK("http://evil.example/?x","click")'


def _maker(app):
    return app.extensions["lms.sessionmaker"]


def _exports_dir(app):
    return app.config["LMS_SETTINGS"].exports_dir


def _run(app, db, job_ids=None):
    """Run the export jobs that are due (all open ones of the kind, or ``job_ids``)."""
    db.rollback()
    if job_ids is None:
        job_ids = list(db.scalars(select(Job.id).where(Job.kind == exports.EXPORT_JOB, Job.done_at.is_(None),
                                                       Job.failed_at.is_(None))))
    db.rollback()
    return run_jobs(_maker(app), job_ids, settings=job_settings(app))


def _export(db, export_id: int) -> CourseExport:
    db.rollback()
    return db.scalar(select(CourseExport).where(CourseExport.id == export_id))


def _csv(app, export: CourseExport) -> str:
    return (_exports_dir(app) / export.file_name).read_bytes().decode("utf-8")


def _request_and_build(app, db, setup, now=NOW) -> CourseExport:
    requested = exports.request_export(db, setup.course.id, setup.instructor.id, now)
    db.commit()
    assert requested.created
    report = _run(app, db)
    assert [r.outcome for r in report.results] == ["done"], report.lines()
    return _export(db, requested.export_id)


# -- the file -------------------------------------------------------------------------------------------

def test_the_csv_of_a_small_course_exactly(app, db, taught):
    setup = taught(learners={"a": (["1.1", "1.2", "2.1", "2.2"], [False, True], 3, 0.5),
                             "b": (["1.1"], [False], 20, 15),
                             "c": ([], [], 1, 1)},
                   names={"a": EVIL, "b": "Bea, \"Jr\"", "c": "+Cal"})
    finished = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    db.execute(update(ItemCompletion).where(ItemCompletion.enrollment_id == setup.learners["a"].id)
               .values(completed_at=finished))
    # passing everything issued "a" the course's credential; a revoked earlier one is not the current one
    db.execute(update(Credential).where(Credential.user_id == setup.users["a"].id).values(issued_at=finished))
    db.commit()
    export = _request_and_build(app, db, setup)
    assert export.state == "ready" and export.row_count == 3 and export.finished_at is not None
    text = _csv(app, export)
    assert export.size_bytes == len(text.encode("utf-8"))
    assert text == (
        "name,email,enrolled_at,track,steps_done,steps_total,progress_percent,completed_at,last_active,"
        "module_quizzes_passed,quiz 1.3 best % (Module 1 check),capstone_state,capstone_version,"
        "capstone_submitted_at,credential_status,credential_issued_at,credential_expires_at,credential_revoked_at\r\n"
        "\"'=HYPERLINK(\"\"http://evil.example/?x\"\",\"\"click\"\")\",a-taught-course@example.com,"
        "2026-12-06T12:00:00+00:00,credential,5,5,100,2026-12-08T09:30:00+00:00,2026-12-09T00:00:00+00:00,"
        "1,100.0,,,,valid,2026-12-08T09:30:00+00:00,,\r\n"
        "\"Bea, \"\"Jr\"\"\",b-taught-course@example.com,2026-11-19T12:00:00+00:00,credential,1,5,20,,"
        "2026-11-24T12:00:00+00:00,0,0.0,,,,,,,\r\n"
        "'+Cal,c-taught-course@example.com,2026-12-08T12:00:00+00:00,credential,0,5,0,,"
        "2026-12-08T12:00:00+00:00,0,,,,,,,,\r\n")
    # A spreadsheet reads the first cell as text: the apostrophe stops the formula.
    assert next(csv.reader(io.StringIO(text.splitlines()[1])))[0] == "'" + EVIL


def test_a_capstone_and_a_deleted_account(app, db, capstone_setup, make_user, enroll):
    setup = capstone_setup()
    submitted(db, setup)
    db.commit()
    gone = make_user("gone@example.com", name="Gone")
    enroll(gone, setup.course)
    db.execute(update(User).where(User.id == gone.id).values(deleted_at=utcnow()))
    db.commit()
    export = _request_and_build(app, db, setup, utcnow())
    rows = list(csv.DictReader(io.StringIO(_csv(app, export))))
    assert [r["email"] for r in rows] == ["learner@example.com"]  # closed accounts are left out
    assert rows[0]["capstone_state"] == "submitted" and rows[0]["capstone_version"] == "1"
    assert rows[0]["capstone_submitted_at"].endswith("+00:00")


def _statements(app, db, count_queries, setup) -> int:
    requested = exports.request_export(db, setup.course.id, setup.instructor.id, NOW)
    db.commit()
    _outline(db, setup.course.id)  # the outline cache warm, as on any running node
    db.rollback()
    with count_queries() as counter:
        assert exports.run_export(db, _exports_dir(app), requested.export_id, NOW, last_attempt=True) == "ready"
    db.commit()
    return len(counter.statements)


def test_building_costs_the_same_statements_at_two_sizes(app, db, taught, count_queries, make_user, enroll):
    from tests.instructor.conftest import add_learners

    setup = taught(learners={"a": (["1.1"], [True], 1, 1)})
    small = _statements(app, db, count_queries, setup)
    add_learners(db, make_user, enroll, setup,
                 {f"x{n}": (["1.1", "2.1", "2.2"][: n % 4], [n % 2 == 0] * (n % 3), n, n) for n in range(40)})
    assert _statements(app, db, count_queries, setup) == small
    # read the export, the outline's course row, the learners (one streamed statement), mark it ready,
    # and the notification (unread count, preference, notification, email job)
    assert small <= 9, small


# -- the loop through the pages ------------------------------------------------------------------------

@pytest.fixture
def course(taught):
    return taught(now=utcnow())


def test_queue_build_notify_and_download(app, client, auth, db, course):
    auth.login(course.instructor.email)
    page = client.get(URL).get_data(as_text=True)
    assert "Export learners' progress (CSV)</button>" in page and "No exports in the last 7 days" in page
    response = auth.post(URL + "/exports", form_page=URL)
    assert response.status_code == 302 and response.headers["Location"].endswith(URL + "#exports")
    # Jobs run inline after the request in development and tests: the export is built already.
    export = db.scalar(select(CourseExport))
    assert export.state == "ready" and export.row_count == 6 and export.requested_by_id == course.instructor.id
    page = client.get(URL).get_data(as_text=True)
    assert "The export is queued" in page
    link = f"{URL}/exports/{export.id}.csv"
    assert ">Ready<" in page and link in page and "Ines Instructor" in page
    note = db.scalar(select(Notification).where(Notification.user_id == course.instructor.id,
                                                Notification.kind == exports.EXPORT_KIND))
    assert note.link == link and "is ready" in note.title and "6 learners" in note.body
    download = client.get(link)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "taught-course-learners-" in disposition
    assert download.headers["Cache-Control"] == "private, no-store"
    lines = download.get_data(as_text=True).splitlines()
    assert lines[0].startswith("name,email,") and len(lines) == 7
    # the email follows the notification settings: on by default for this kind
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == "notifications.email")) >= 1


def test_who_may_download(app, client, auth, db, course, taught, make_user):
    other = taught(slug="other-course", learners={}, now=utcnow())
    export = _request_and_build(app, db, course, utcnow())
    theirs = _request_and_build(app, db, other, utcnow())
    link = f"{URL}/exports/{export.id}.csv"
    assert client.get(link).status_code == 302  # to the login page
    auth.login(course.instructor.email)
    assert client.post(URL + "/exports").status_code == 400  # no CSRF token
    auth.logout()
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", "taught-course")
    db.commit()
    for email in ("a-taught-course@example.com", "grader@example.com", other.instructor.email):
        auth.login(email)
        assert client.get(link).status_code == 403, email
        assert auth.post(URL + "/exports", form_page="/courses").status_code == 403
        auth.logout()
    auth.login(course.instructor.email)
    # another course's export through this course's address: not found
    missing = client.get(f"{URL}/exports/{theirs.id}.csv")
    assert missing.status_code == 404 and "no such export of this course" in missing.get_data(as_text=True)
    assert client.get(f"{URL}/exports/999999.csv").status_code == 404
    auth.logout()
    make_user("admin@example.com", admin=True)
    auth.login("admin@example.com")
    assert client.get(link).status_code == 200
    # the file gone (cleaned up, or written where this node cannot read): a clear 404
    (_exports_dir(app) / export.file_name).unlink()
    gone = client.get(link)
    assert gone.status_code == 404 and "file of this export is missing" in gone.get_data(as_text=True)


def test_a_second_request_while_one_is_queued_starts_nothing(app, client, auth, db, course, taught):
    first = exports.request_export(db, course.course.id, course.instructor.id)
    again = exports.request_export(db, course.course.id, course.instructor.id)
    db.commit()
    assert first.created and not again.created and again.export_id == first.export_id
    auth.login(course.instructor.email)
    response = auth.post(URL + "/exports", form_page=URL, follow_redirects=True)
    assert "already queued or being built, so no second one was started" in response.get_data(as_text=True)
    assert ">Queued<" in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(CourseExport)) == 1
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == exports.EXPORT_JOB)) == 1
    # another course is not held up by this one
    other = taught(slug="other-course", learners={}, now=utcnow())
    assert exports.request_export(db, other.course.id, other.instructor.id).created
    # once built, a new one may be asked for
    db.commit()
    _run(app, db)
    assert exports.request_export(db, course.course.id, course.instructor.id).created


def test_the_queued_index_stops_a_racing_second_insert(db, course):
    db.add(CourseExport(course_id=course.course.id, requested_at=utcnow(), state="queued"))
    db.commit()
    with pytest.raises(Exception):  # noqa: B017, PT011 - IntegrityError, whichever driver raises it
        db.add(CourseExport(course_id=course.course.id, requested_at=utcnow(), state="queued"))
        db.commit()
    db.rollback()


# -- failures ------------------------------------------------------------------------------------------------

def test_a_failing_export_is_retried_then_fails_with_its_reason(app, client, auth, db, course, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports, "write_file", broken)
    requested = exports.request_export(db, course.course.id, course.instructor.id)
    db.commit()
    job_id = db.scalar(select(Job.id).where(Job.kind == exports.EXPORT_JOB))
    assert [r.outcome for r in _run(app, db).results] == ["retry"]
    assert _export(db, requested.export_id).state == "queued"  # the job system tries again
    auth.login(course.instructor.email)
    page = client.get(URL).get_data(as_text=True)
    assert "Retrying after an error" in page and "No space left on device" in page
    for attempt in (2, 3):
        db.execute(update(Job).where(Job.id == job_id).values(run_after=utcnow() - timedelta(seconds=1)))
        db.commit()
        outcome = _run(app, db, [job_id]).results[0].outcome
        assert outcome == ("retry" if attempt == 2 else "done"), attempt
    export = _export(db, requested.export_id)
    assert export.state == "failed" and export.finished_at is not None and export.file_name is None
    assert "could not be written to the exports folder (No space left on device)" in export.error
    note = db.scalar(select(Notification).where(Notification.kind == exports.EXPORT_KIND))
    assert "failed" in note.title and "No space left" in note.body
    page = client.get(URL).get_data(as_text=True)
    assert ">Failed<" in page and "No space left on device" in page
    assert client.get(f"{URL}/exports/{export.id}.csv").status_code == 404
    assert exports.request_export(db, course.course.id, course.instructor.id).created  # may ask again


def test_an_export_whose_job_gave_up_is_marked_failed(app, db, course):
    requested = exports.request_export(db, course.course.id, course.instructor.id)
    db.commit()
    # the runner died during the last attempt: run-due fails the job, the export is still queued
    db.execute(update(Job).where(Job.kind == exports.EXPORT_JOB).values(
        failed_at=utcnow(), attempts=3, last_error="the runner stopped during the last attempt (crash or timeout)"))
    db.commit()
    listed = exports.recent_exports(db, course.course.id)
    assert listed[0].status == "Failed" and "the runner stopped" in listed[0].error
    again = exports.request_export(db, course.course.id, course.instructor.id)
    db.commit()
    assert again.created and again.export_id != requested.export_id
    export = _export(db, requested.export_id)
    assert export.state == "failed" and export.error.startswith("The job building it gave up: the runner stopped")


def test_a_retired_course_fails_at_once(app, db, course):
    from lms.catalog.models import Course

    requested = exports.request_export(db, course.course.id, course.instructor.id)
    db.execute(update(Course).where(Course.id == course.course.id).values(retired_at=utcnow()))
    db.commit()
    assert [r.outcome for r in _run(app, db).results] == ["done"]
    export = _export(db, requested.export_id)
    assert export.state == "failed" and "retired or removed" in export.error
    # a repeat of the job (at least once delivery) does nothing
    assert exports.run_export(db, _exports_dir(app), export.id, utcnow(), last_attempt=True) == "skipped"


# -- retention -------------------------------------------------------------------------------------------------

def test_exports_older_than_seven_days_are_deleted_with_their_files(app, db, course):
    assert "instructor.prune_exports" in PERIODIC_JOBS
    now = utcnow()
    old = _request_and_build(app, db, course, now - timedelta(days=8))
    recent = _request_and_build(app, db, course, now - timedelta(days=1))
    folder = _exports_dir(app)
    old_file, recent_file = folder / old.file_name, folder / recent.file_name
    stray = folder / old.file_name.replace(f"export-{old.id}", "export-99999")
    stray.write_text("left by a crash")
    partial = folder / f"course-{course.course.id}/{exports.PARTIAL_PREFIX}abc.csv"
    partial.write_text("half")
    for path, age in ((stray, timedelta(days=8)), (partial, timedelta(days=2))):
        moment = (now - age).timestamp()
        os.utime(path, (moment, moment))
    rows, files = exports.prune(db, folder, now)
    db.commit()
    assert (rows, files) == (1, 3)
    assert _export(db, old.id) is None and _export(db, recent.id) is not None
    assert not old_file.exists() and recent_file.is_file()
    assert not stray.exists() and not partial.exists()


# -- a bigger course --------------------------------------------------------------------------------------------

def test_a_course_of_two_thousand_learners(app, db, taught):
    setup = taught(learners={})
    n = 2000
    now = utcnow()
    db.execute(insert(User), [{"email": f"bulk{i}@example.com", "name": f"Bulk {i}", "password_hash": "x",
                               "created_at": now, "password_changed_at": now} for i in range(n)])
    user_ids = list(db.scalars(select(User.id).where(User.email.like("bulk%")).order_by(User.id)))
    db.execute(insert(Enrollment), [{"user_id": uid, "course_id": setup.course.id, "track": "credential",
                                     "enrolled_at": now, "last_activity_at": now} for uid in user_ids])
    enrollment_ids = list(db.scalars(select(Enrollment.id).where(Enrollment.course_id == setup.course.id)))
    steps = [setup.steps["1.1"], setup.steps["1.2"], setup.steps["2.1"]]
    db.execute(insert(ItemCompletion), [{"enrollment_id": eid, "item_id": steps[k], "how": "read", "completed_at": now}
                                        for i, eid in enumerate(enrollment_ids) for k in range(i % 4)])
    db.commit()
    export = _request_and_build(app, db, setup, now)
    assert export.state == "ready" and export.row_count == n
    rows = list(csv.DictReader(io.StringIO(_csv(app, export))))
    assert len(rows) == n and {r["steps_done"] for r in rows} == {"0", "1", "2", "3"}
