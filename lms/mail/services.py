"""Mail: queued in the outbox inside the caller's transaction, delivered after it commits.

A message is only ever sent for a change that really happened (a rolled-back registration sends
nothing), and a failed delivery stays in the outbox to be retried.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.config import Settings
from lms.db import utcnow
from lms.mail.models import OutboxMessage

log = logging.getLogger("lms.mail")
MAX_ATTEMPTS = 5
PENDING_FLAG = "lms.outbox_pending"


def queue_mail(db: Session, to: str, subject: str, body: str) -> OutboxMessage:
    message = OutboxMessage(to_address=to, subject=subject, body=body)
    db.add(message)
    db.info[PENDING_FLAG] = True
    return message


class LogBackend:
    """Development: print each message to the log, links and all."""

    def __init__(self, settings: Settings):
        self.sender = settings.mail_from

    def send(self, message: OutboxMessage) -> None:
        log.info("mail to %s\nFrom: %s\nSubject: %s\n\n%s", message.to_address, self.sender, message.subject,
                 message.body)


class SmtpBackend:
    def __init__(self, settings: Settings):
        self.settings = settings

    def send(self, message: OutboxMessage) -> None:
        s = self.settings
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = s.mail_from, message.to_address, message.subject
        email.set_content(message.body)
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=20) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(email)


MAIL_BACKENDS = {"log": LogBackend, "smtp": SmtpBackend}


def make_backend(settings: Settings):
    try:
        return MAIL_BACKENDS[settings.mail_backend](settings)
    except KeyError:
        from lms.config import ConfigError  # noqa: PLC0415

        raise ConfigError(f"LMS_MAIL_BACKEND must be one of {', '.join(MAIL_BACKENDS)}") from None


def deliver_pending(db: Session, backend, limit: int = 50) -> int:
    """Send unsent messages, each committed on its own; returns how many were sent."""
    query = (select(OutboxMessage).where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
             .order_by(OutboxMessage.id).limit(limit))
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two nodes never send the same message
    sent = 0
    for message in db.scalars(query).all():
        message.attempts += 1
        try:
            backend.send(message)
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = str(exc)[:500]
            log.warning("mail to %s failed (attempt %d): %s", message.to_address, message.attempts, exc)
        else:
            message.sent_at = utcnow()
            sent += 1
    db.commit()
    return sent
