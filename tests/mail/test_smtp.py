"""Mail through a real SMTP server (aiosmtpd on a local port): what arrives, and what happens when
the server cannot be reached or refuses a mailbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from lms.jobs import run_due
from lms.jobs.models import Job
from lms.mail.services import queue_mail
from lms.notifications import services as notifications


def _run(app, settings, now=None):
    return run_due(app.extensions["lms.sessionmaker"], now or datetime.now(UTC) + timedelta(seconds=1),
                   settings=settings)


def _mail_jobs(db) -> list[Job]:
    db.expire_all()
    return list(db.scalars(select(Job).where(Job.kind.in_(["mail.send", "notifications.email"])).order_by(Job.id)))


def test_a_queued_message_arrives_with_its_headers_and_body(app, db, smtp_server, smtp_settings):
    job = queue_mail(db, "ada@example.com", "Confirm your address", "Hello Ada,\n\nhttp://localhost/verify/x\n")
    db.commit()
    _run(app, smtp_settings)
    [message] = smtp_server.inbox.messages
    assert message["From"] == "Skillmark <no-reply@skillmark.test>"
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Confirm your address"
    assert message["Message-ID"] == f"<job-{job.id}@skillmark.test>"  # the same on every attempt
    assert message["Date"]
    assert message.get_content().replace("\r\n", "\n") == "Hello Ada,\n\nhttp://localhost/verify/x\n"
    assert smtp_server.inbox.envelopes == [("no-reply@skillmark.test", ["ada@example.com"])]
    assert _mail_jobs(db)[0].done_at is not None


def test_nothing_is_sent_for_a_rolled_back_change(app, db, smtp_server, smtp_settings):
    queue_mail(db, "ada@example.com", "Never", "This change rolled back.")
    db.rollback()
    _run(app, smtp_settings)
    assert smtp_server.inbox.messages == []


def test_an_unreachable_server_leaves_the_message_queued_with_its_error_then_it_is_retried(
        app, db, smtp_port, smtp_settings):
    from tests.smtp_server import SmtpServer

    queue_mail(db, "ada@example.com", "Your capstone was graded", "Passed.")
    db.commit()
    now = datetime.now(UTC) + timedelta(seconds=1)
    [result] = [r for r in _run(app, smtp_settings, now).results if r.kind == "mail.send"]
    assert result.outcome == "retry"
    [job] = _mail_jobs(db)
    assert job.done_at is None and job.failed_at is None and job.attempts == 1
    assert "ConnectionRefusedError" in job.last_error
    assert job.run_after == now + timedelta(seconds=30)

    server = SmtpServer(smtp_port).start()  # the server is back
    try:
        _run(app, smtp_settings, now + timedelta(seconds=10))  # not yet due: the backoff holds
        assert server.inbox.messages == []
        _run(app, smtp_settings, now + timedelta(seconds=31))
        assert [m["Subject"] for m in server.inbox.messages] == ["Your capstone was graded"]
    finally:
        server.stop()
    [job] = _mail_jobs(db)
    assert job.done_at is not None and job.attempts == 2


def test_a_refused_mailbox_fails_at_once_instead_of_retrying(app, db, smtp_server, smtp_settings):
    queue_mail(db, "nobody@example.com", "Hello", "Nobody reads this.")
    db.commit()
    [result] = [r for r in _run(app, smtp_settings).results if r.kind == "mail.send"]
    assert (result.outcome, result.attempt) == ("failed", 1)
    [job] = _mail_jobs(db)
    assert "550" in job.last_error and job.failed_at is not None
    assert smtp_server.inbox.messages == []


def test_a_notification_email_carries_one_click_unsubscribe(app, db, make_user, smtp_server, smtp_settings):
    learner = make_user("lin@example.com", name="Lin")
    notifications.notify(db, learner.id, "submission_graded", "Your capstone was graded: passed",
                         "Well done.\n\nYour grader left feedback.", link="/courses/demo/capstone")
    db.commit()
    _run(app, smtp_settings)
    [message] = smtp_server.inbox.messages
    assert message["To"] == "lin@example.com"
    assert message["Subject"] == "Your capstone was graded: passed"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe_url.startswith("http://localhost/unsubscribe/")
    body = message.get_content()
    assert "Well done." in body and "http://localhost/courses/demo/capstone" in body
    assert unsubscribe_url in body and "http://localhost/account/notifications" in body

    # What a mail client does for RFC 8058: POST the URL, no cookie, no CSRF token.
    response = app.test_client().post(unsubscribe_url.removeprefix("http://localhost"),
                                      data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.expire_all()
    assert notifications.wants_email(db, learner.id, "submission_graded") is False

    notifications.notify(db, learner.id, "submission_graded", "Graded again", "Passed.")
    db.commit()
    _run(app, smtp_settings)
    assert len(smtp_server.inbox.messages) == 1  # in-app only from now on


def test_an_email_queued_before_unsubscribing_is_not_sent(app, db, make_user, smtp_server, smtp_settings):
    learner = make_user("kai@example.com")
    notifications.notify(db, learner.id, "submission_graded", "Graded", "Passed.")
    db.commit()
    notifications.set_email_choice(db, learner.id, "submission_graded", False)
    db.commit()
    _run(app, smtp_settings)
    assert smtp_server.inbox.messages == []
    assert all(job.done_at is not None for job in _mail_jobs(db))
