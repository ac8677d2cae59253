"""Who hears about capstones: graders when work enters their queue, learners when it is graded, and
graders each morning about the oldest waiting work; the emails arrive through a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from lms.auth.services import grant
from lms.capstones import notify, services
from lms.jobs import JobContext, job_settings, run_due
from lms.jobs.models import Job
from lms.notifications import services as notifications
from lms.notifications.models import Notification
from tests.capstones.conftest import FULL_MARKS, LOW_MARKS, submitted


def _notes(db, user) -> list[Notification]:
    db.expire_all()
    return list(db.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)))


def _email_jobs(db, kind=None) -> list[Job]:
    db.expire_all()
    jobs = db.scalars(select(Job).where(Job.kind == notifications.EMAIL_JOB).order_by(Job.id))
    return [j for j in jobs if kind is None or j.payload["kind"] == kind]


def _graded(db, setup, submission, marks, **kwargs):
    services.claim(db, submission.id, setup.grader.id)
    review = services.grade(db, submission.id, setup.grader.id, services.Grading(marks, {}, "Good work.", **kwargs),
                            can_override=False)
    db.commit()
    return review


def test_a_submission_tells_the_courses_graders_not_its_instructors_or_the_learner(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    [note] = _notes(db, setup.grader)
    assert note.kind == "submission_queued" and note.title == "A capstone to grade in Capstone Course"
    assert "Lee Learner submitted version 1" in note.body
    assert note.link == f"/courses/capstone-course/capstone/submissions/{submission.id}"
    assert _notes(db, setup.instructor) == [] and _notes(db, setup.learner) == []
    [job] = _email_jobs(db, "submission_queued")
    assert job.payload["user_id"] == setup.grader.id


def test_a_course_without_graders_tells_its_instructors(db, capstone_setup):
    from lms.auth.services import revoke

    setup = capstone_setup()
    revoke(db, setup.grader, "grader", "capstone-course")
    db.commit()
    submitted(db, setup)
    assert [n.kind for n in _notes(db, setup.instructor)] == ["submission_queued"]


def test_a_blind_capstone_names_a_pseudonym_to_graders(db, capstone_setup):
    setup = capstone_setup(blind=True)
    submitted(db, setup)
    [note] = _notes(db, setup.grader)
    assert services.pseudonym(setup.enrollment.id) in note.body and "Lee Learner" not in note.body


def test_a_double_submit_notifies_once(db, capstone_setup):
    setup = capstone_setup()
    submitted(db, setup)
    services.submit(db, setup.enrollment.id, setup.record(db))
    db.commit()
    assert len(_notes(db, setup.grader)) == 1


def test_grading_tells_the_learner_the_outcome_points_and_comment(db, capstone_setup):
    setup = capstone_setup()
    _graded(db, setup, submitted(db, setup), LOW_MARKS)
    [note] = _notes(db, setup.learner)
    assert note.kind == "submission_graded"
    assert note.title == "Your capstone for Capstone Course was graded: needs revision"
    assert "needs revision, 6 of 12 points" in note.body and "start a revision" in note.body
    assert "Good work." in note.body and note.link == "/courses/capstone-course/capstone"
    assert notifications.unread_count(db, setup.learner.id) == 1


def test_a_failed_grading_notifies_nobody(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id)
    db.commit()
    try:
        services.grade(db, submission.id, setup.grader.id, services.Grading({"question": 2}, {}, ""),
                       can_override=False)
    except services.GradingInvalid:
        db.rollback()
    assert _notes(db, setup.learner) == [] and _email_jobs(db, "submission_graded") == []


def test_the_graded_email_arrives_with_a_one_click_unsubscribe(app, db, capstone_setup, smtp_server,
                                                                smtp_settings):
    setup = capstone_setup()
    _graded(db, setup, submitted(db, setup), FULL_MARKS)
    run_due(app.extensions["lms.sessionmaker"], datetime.now(UTC) + timedelta(seconds=1), settings=smtp_settings)
    graded = [m for m in smtp_server.inbox.messages if m["To"] == setup.learner.email]
    [message] = graded
    assert message["Subject"] == "Your capstone for Capstone Course was graded: passed"
    body = message.get_content()
    assert "passed, 12 of 12 points" in body and "/courses/capstone-course/capstone" in body
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in message["List-Unsubscribe"]


def test_a_learner_who_turned_the_email_off_gets_the_notification_only(app, db, capstone_setup, smtp_server,
                                                                       smtp_settings):
    setup = capstone_setup()
    notifications.set_email_choices(db, setup.learner.id, {"submission_graded": False})
    db.commit()
    _graded(db, setup, submitted(db, setup), FULL_MARKS)
    run_due(app.extensions["lms.sessionmaker"], datetime.now(UTC) + timedelta(seconds=1), settings=smtp_settings)
    assert [m for m in smtp_server.inbox.messages if m["To"] == setup.learner.email] == []
    assert [n.kind for n in _notes(db, setup.learner)] == ["submission_graded"]


# -- the daily digest -----------------------------------------------------------------------------------

def _waiting(db, setup, make_user, enroll, n, when):
    record = setup.record(db)
    for i in range(n):
        enrollment = enroll(make_user(name=f"Waiting {i}"), setup.course)
        services.save_draft(db, enrollment.id, record, "## Summary\n\nx\n\n## Cleaning log\n\ny", [
            "https://github.com/w/x"])
        db.flush()
        services.submit(db, enrollment.id, record, now=when - timedelta(hours=i))
    db.commit()


def test_the_digest_lists_each_graders_oldest_waiting_work_across_courses(db, capstone_setup, make_user, enroll):
    now = datetime.now(UTC)
    first = capstone_setup()
    second = capstone_setup(slug="second-course", learner_email="l2@example.com")
    grant(db, first.grader, "grader", "second-course")
    db.commit()
    _waiting(db, first, make_user, enroll, 4, now - timedelta(days=1))
    _waiting(db, second, make_user, enroll, 3, now - timedelta(days=3))
    found = notify.digests(db, now)
    total, items = found[first.grader.id]
    assert total == 7 and len(items) == notify.DIGEST_ITEMS
    assert [title for _, title, _, _ in items] == ["Second Course"] * 3 + ["Capstone Course"] * 2
    assert [when for *_, when in items] == sorted(when for *_, when in items)
    assert found[second.grader.id][0] == 3 and first.instructor.id not in found
    text = notify.digest_text(total, items, now, "https://skillmark.example")
    assert text.startswith("7 capstone versions are waiting for a grader.")
    assert "- Second Course, waiting 3 days: https://skillmark.example/courses/second-course/capstone/" \
           "submissions/" in text


def test_the_digest_takes_the_same_statements_whatever_the_queue(db, app, capstone_setup, make_user, enroll,
                                                                 count_queries):
    now = datetime.now(UTC)
    setup = capstone_setup()
    _waiting(db, setup, make_user, enroll, 2, now)
    with count_queries() as few:
        notify.digests(db, now)
    _waiting(db, setup, make_user, enroll, 20, now)
    capstone_setup(slug="more-course", learner_email="l3@example.com")
    with count_queries() as many:
        notify.digests(db, now)
    assert many.count == few.count == 3


def test_graded_and_claimed_work_is_not_in_the_digest(db, capstone_setup):
    setup = capstone_setup()
    services.claim(db, submitted(db, setup).id, setup.grader.id)
    db.commit()
    assert notify.digests(db, datetime.now(UTC)) == {}


def test_the_periodic_digest_queues_one_email_per_grader(app, db, capstone_setup, make_user, enroll):
    now = datetime.now(UTC)
    setup = capstone_setup()
    _waiting(db, setup, make_user, enroll, 2, now - timedelta(hours=30))
    ctx = JobContext(db=db, job_id=0, kind="periodic.capstones.grader_digest", attempt=1, now=now,
                     settings=job_settings(app))
    notify.send_grader_digests(ctx, now)
    db.commit()
    [job] = _email_jobs(db, "grader_digest")
    assert job.payload["user_id"] == setup.grader.id
    assert job.payload["title"] == "Grading digest: 2 capstone versions waiting"
    assert "waiting 1 day" in job.payload["body"] and job.payload["link"] == "/grading"


def test_the_digest_is_scheduled_daily_by_run_due_and_arrives(app, db, capstone_setup, make_user, enroll,
                                                              smtp_server, smtp_settings):
    setup = capstone_setup()
    _waiting(db, setup, make_user, enroll, 1, datetime.now(UTC) - timedelta(days=2))
    maker = app.extensions["lms.sessionmaker"]
    report = run_due(maker, datetime.now(UTC) + timedelta(seconds=1), settings=smtp_settings)
    assert any("capstones.grader_digest" in line for line in report.scheduled)
    run_due(maker, datetime.now(UTC) + timedelta(seconds=2), settings=smtp_settings)  # the emails it queued
    digests = [m for m in smtp_server.inbox.messages if m["Subject"].startswith("Grading digest")]
    assert [m["To"] for m in digests] == [setup.grader.email]
    again = run_due(maker, datetime.now(UTC) + timedelta(seconds=3), settings=smtp_settings)
    assert not any("capstones.grader_digest" in line for line in again.scheduled)  # once a day
