"""Mail: queued as a "mail.send" job inside the caller's transaction, delivered after it commits.

A message is only ever sent for a change that really happened (a rolled-back registration sends
nothing), and a failed delivery stays in the job outbox to be retried with backoff (see lms.jobs).
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from sqlalchemy.orm import Session

from lms.config import ConfigError, Settings
from lms.jobs import JobContext, PermanentFailure, enqueue, job_handler
from lms.jobs.models import Job

log = logging.getLogger("lms.mail")
MAIL_JOB = "mail.send"
MAIL_MAX_ATTEMPTS = 8  # 30 s, 1, 2, 4, 8, 16, 32 min: about an hour of retries before giving up


def queue_mail(db: Session, to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> Job:
    """Queue a plain-text message in the caller's transaction; extra ``headers`` (e.g. List-Unsubscribe)."""
    payload: dict = {"to": to, "subject": subject, "body": body}
    if headers:
        payload["headers"] = dict(headers)
    return enqueue(db, MAIL_JOB, payload)


def compose(settings: Settings, to: str, subject: str, body: str, headers: dict[str, str] | None = None,
            message_id: str | None = None) -> EmailMessage:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = settings.mail_from, to, subject
    email["Date"] = formatdate(localtime=False)
    if message_id:
        email["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        email[name] = value
    email.set_content(body)
    return email


def job_message_id(settings: Settings, job_id: int) -> str:
    """The same Message-ID on every attempt of a job, so a message delivered twice after a crash
    can be recognised as one by the receiving side."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "skillmark.local"
    return f"<job-{job_id}@{domain}>"


class LogBackend:
    """Development: print each message to the log, links and all."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, email: EmailMessage) -> None:
        extra = "".join(f"{k}: {v}\n" for k, v in email.items() if k.startswith("List-"))
        log.info("mail to %s\nFrom: %s\nSubject: %s\n%s\n%s", email["To"], email["From"], email["Subject"], extra,
                 email.get_content())


class SmtpBackend:
    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, email: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password or "")
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            # Every recipient rejected for good (5xx): retrying an unknown mailbox only repeats the answer.
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentFailure(f"recipient refused: {exc.recipients}") from exc
            raise


MAIL_BACKENDS = {"log": LogBackend, "smtp": SmtpBackend}


def make_backend(settings: Settings):
    try:
        return MAIL_BACKENDS[settings.mail_backend](settings)
    except KeyError:
        raise ConfigError(f"LMS_MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}") from None


def send_now(ctx: JobContext, to: str, subject: str, body: str, headers: dict[str, str] | None = None) -> None:
    """Deliver one message from a job handler through the configured backend (raises to retry)."""
    email = compose(ctx.settings, to, subject, body, headers, job_message_id(ctx.settings, ctx.job_id))
    make_backend(ctx.settings).send(email)


@job_handler(MAIL_JOB, max_attempts=MAIL_MAX_ATTEMPTS)
def _send_mail_job(ctx: JobContext, payload: dict) -> None:
    send_now(ctx, payload["to"], payload["subject"], payload["body"], payload.get("headers"))
