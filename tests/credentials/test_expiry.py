"""Expiry reminders: once per credential, 30 days ahead, with how to renew; bulk statements; the daily job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from lms.credentials import expiry
from lms.credentials.models import Credential
from lms.db import utcnow
from lms.jobs import run_due
from lms.jobs.models import Job
from lms.notifications import services as notifications
from lms.notifications.models import Notification
from tests.credentials.expiring import hold

BASE = "http://localhost"


def _notes(db, user=None) -> list[Notification]:
    db.expire_all()
    query = select(Notification).where(Notification.kind == expiry.REMINDER_KIND).order_by(Notification.id)
    return list(db.scalars(query if user is None else query.where(Notification.user_id == user.id)))


def _emails(db) -> list[Job]:
    db.expire_all()
    jobs = db.scalars(select(Job).where(Job.kind == notifications.EMAIL_JOB).order_by(Job.id))
    return [job for job in jobs if job.payload["kind"] == expiry.REMINDER_KIND]


def _holders(app, db, course, make_user, enroll, n: int, issued_at: datetime, first: int = 0) -> list[Credential]:
    held = []
    for i in range(first, first + n):
        user = make_user(f"holder{i}@example.com", name=f"Holder {i}")
        enroll(user, course.course)
        held.append(hold(app, db, course.course, user, issued_at))
    return held


def test_a_credential_expiring_within_30_days_gets_one_reminder_with_how_to_renew(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    held = hold(app, db, course.course, course.learner, now - timedelta(days=345))  # expires in about 20 days
    assert expiry.remind_expiring(db, now, BASE) == 1
    db.commit()
    [note] = _notes(db, course.learner)
    date = f"{held.valid_until.day} {held.valid_until:%B %Y}"
    assert note.title == f"Your credential “Trip Analyst” expires on {date}"
    assert f"valid until {date}" in note.body
    assert "pass the recertification quiz “Recertification check”" in note.body
    assert f"{BASE}/courses/expiring-course/module-1/recertify" in note.body
    assert note.link == "/courses/expiring-course"
    [email] = _emails(db)
    assert email.payload["user_id"] == course.learner.id and email.payload["title"] == note.title
    assert db.get(Credential, held.id).expiry_reminded_at == now

    assert expiry.remind_expiring(db, now + timedelta(days=1), BASE) == 0  # a rerun sends nothing twice
    db.commit()
    assert len(_notes(db)) == 1 and len(_emails(db)) == 1


def test_only_current_credentials_expiring_within_30_days_are_reminded(app, db, expiring_course, make_user, enroll):
    course = expiring_course(months=12)
    now = utcnow()
    due, later, expired, revoked, superseded = _holders(app, db, course, make_user, enroll, 5,
                                                        now - timedelta(days=345))
    for credential, issued_at in ((later, now - timedelta(days=300)), (expired, now - timedelta(days=400))):
        credential.valid_until = issued_at + timedelta(days=365)
    revoked.revoked_at, revoked.revoke_reason = now, "Issued by mistake."
    superseded.superseded_at = now
    db.commit()
    assert expiry.remind_expiring(db, now, BASE) == 1
    db.commit()
    assert [n.user_id for n in _notes(db)] == [due.user_id]


def test_the_email_follows_the_holders_choice_the_notification_does_not(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    hold(app, db, course.course, course.learner, now - timedelta(days=345))
    notifications.set_email_choice(db, course.learner.id, expiry.REMINDER_KIND, False)
    db.commit()
    assert expiry.remind_expiring(db, now, BASE) == 1
    db.commit()
    assert len(_notes(db, course.learner)) == 1 and _emails(db) == []
    assert notifications.unread_count(db, course.learner.id) == 1


def test_a_course_that_renews_by_capstone_says_so(app, db, expiring_course):
    course = expiring_course(months=12, recertify_by="capstone")
    hold(app, db, course.course, course.learner, utcnow() - timedelta(days=345))
    expiry.remind_expiring(db, utcnow(), BASE)
    db.commit()
    [note] = _notes(db, course.learner)
    assert "pass the capstone project “Capstone: analyse the trips” again" in note.body
    assert f"{BASE}/courses/expiring-course/capstone" in note.body


def test_the_statements_of_a_run_do_not_grow_with_the_credentials(app, db, expiring_course, make_user, enroll,
                                                                  count_queries):
    course = expiring_course(months=12)
    issued_at = utcnow() - timedelta(days=345)
    _holders(app, db, course, make_user, enroll, 2, issued_at)
    with count_queries() as few:
        assert expiry.remind_expiring(db, utcnow(), BASE) == 2
        db.flush()
    db.commit()
    db.execute(Credential.__table__.update().values(expiry_reminded_at=None))
    db.execute(Notification.__table__.delete())
    db.commit()
    more = _holders(app, db, course, make_user, enroll, 10, issued_at, first=2)
    with count_queries() as many:
        assert expiry.remind_expiring(db, utcnow(), BASE) == 12
        db.flush()
    db.commit()
    assert many.count == few.count, "\n".join(s[:60] for s in few.statements + ["----"] + many.statements)
    assert len(_notes(db)) == 12 and len(more) == 10
    # In batches (5, 5 and 2), each costs the same statements as a whole run above.
    db.execute(Credential.__table__.update().values(expiry_reminded_at=None))
    db.commit()
    with count_queries() as batched:
        assert expiry.remind_expiring(db, utcnow(), BASE, batch_size=5) == 12
        db.flush()
    assert batched.count == 3 * few.count


def test_the_daily_job_reminds_and_the_email_arrives(app, db, expiring_course, smtp_server, smtp_settings):
    course = expiring_course(months=12)
    held = hold(app, db, course.course, course.learner, utcnow() - timedelta(days=345))
    maker = app.extensions["lms.sessionmaker"]
    report = run_due(maker, datetime.now(UTC) + timedelta(seconds=1), settings=smtp_settings)
    assert any("credentials.expiry_reminders" in line for line in report.scheduled)
    run_due(maker, datetime.now(UTC) + timedelta(seconds=2), settings=smtp_settings)  # the emails it queued
    [message] = [m for m in smtp_server.inbox.messages if "expires on" in m["Subject"]]
    assert message["To"] == course.learner.email and "Trip Analyst" in message["Subject"]
    db.expire_all()
    assert db.get(Credential, held.id).expiry_reminded_at is not None
    again = run_due(maker, datetime.now(UTC) + timedelta(seconds=3), settings=smtp_settings)
    assert not any("credentials.expiry_reminders" in line for line in again.scheduled)  # once a day
    assert db.scalar(select(func.count(Notification.id))) == 1


def test_a_closed_account_is_not_notified_but_counts_as_reminded(app, db, expiring_course):
    course = expiring_course(months=12)
    held = hold(app, db, course.course, course.learner, utcnow() - timedelta(days=345))
    course.learner.deleted_at = utcnow()
    db.commit()
    assert expiry.remind_expiring(db, utcnow(), BASE) == 1
    db.commit()
    assert _notes(db) == [] and _emails(db) == []
    assert db.get(Credential, held.id).expiry_reminded_at is not None
