"""Expiry reminders: thirty days before a credential expires, its holder hears once how to renew it.

A daily periodic job (``credentials.expiry_reminders``, run by ``flask jobs run-due``). Each current
credential (not revoked, not superseded) whose ``valid_until`` falls within REMINDER_LEAD gets one
in-app notification and, unless the holder turned that email off, one email; ``expiry_reminded_at`` is
set in the same transaction. So a run that fails sends nothing and is retried whole, and a rerun finds
nothing left to remind. A credential already expired when first seen gets no "expires on" message (the
dashboard shows it as expired and renewable).

Work goes in batches with a fixed number of statements each (the candidates, the claim, the courses'
renewal routes, and ``notify_many``'s few), so a day with many expiring credentials costs more
batches, not more statements per credential.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lms.catalog.models import Course
from lms.credentials.models import Achievement, AchievementVersion, Credential
from lms.credentials.renewal import RenewalRoute, long_date, renewal_routes, route_instructions
from lms.jobs import JobContext, periodic
from lms.notifications.services import Kind, Message, notify_many, register_kind

REMINDER_KIND = "credential_expiring"
REMINDER_LEAD = timedelta(days=30)
REMINDER_HOUR = timedelta(hours=6)  # the job runs daily from 06:00 UTC
BATCH_SIZE = 500

register_kind(REMINDER_KIND, Kind("When a credential of mine is about to expire", email_default=True,
                                  audience="learner"))


def remind_expiring(db: Session, now: datetime, base_url: str, batch_size: int = BATCH_SIZE) -> int:
    """Remind the holder of every credential that expires within REMINDER_LEAD and has not been
    reminded; returns how many were. In the caller's transaction (the job's)."""
    reminded, after_id = 0, 0
    while True:
        rows = db.execute(
            select(Credential.id, Credential.user_id, Credential.valid_until, Achievement.course_id,
                   Course.slug.label("course_slug"), AchievementVersion.spec["name"].as_string().label("name"))
            .join(Achievement, Achievement.id == Credential.achievement_id)
            .join(AchievementVersion, AchievementVersion.id == Credential.achievement_version_id)
            .join(Course, Course.id == Achievement.course_id)  # (pathway credentials never expire)
            .where(Credential.id > after_id, Credential.expiry_reminded_at.is_(None),
                   Credential.revoked_at.is_(None), Credential.superseded_at.is_(None),
                   Credential.valid_until > now, Credential.valid_until <= now + REMINDER_LEAD)
            .order_by(Credential.id).limit(batch_size)).all()
        if not rows:
            return reminded
        after_id = rows[-1].id
        # Claimed with a conditional UPDATE: a reminder sent by a concurrent run is not sent again.
        claimed = set(db.scalars(
            update(Credential).where(Credential.id.in_([row.id for row in rows]),
                                     Credential.expiry_reminded_at.is_(None))
            .values(expiry_reminded_at=now).returning(Credential.id).execution_options(synchronize_session=False)))
        routes = renewal_routes(db, {row.course_id for row in rows})
        notify_many(db, REMINDER_KIND, [reminder(row.user_id, row.name, row.valid_until, row.course_slug,
                                                 routes.get(row.course_id), base_url)
                                        for row in rows if row.id in claimed])
        reminded += len(claimed)
        if len(rows) < batch_size:
            return reminded


def reminder(user_id: int, name: str, valid_until: datetime, course_slug: str, route: RenewalRoute | None,
             base_url: str) -> Message:
    """The reminder: the credential's name, the date it expires, and how to renew. It links the course
    page (the email adds that link; the body names the quiz's or capstone's own address)."""
    course_path = f"/courses/{course_slug}"
    lines = [f"Your credential “{name}” is valid until {long_date(valid_until)} (UTC)."]
    if route is None:
        lines.append("This course no longer offers a way to renew it.")
    else:
        lines.append(f"You can renew it now: {route_instructions(route)}. {base_url}{route.path}")
        lines.append("Renewing gives you a new credential in place of this one, valid from the day you renew.")
    return Message(user_id, f"Your credential “{name}” expires on {long_date(valid_until)}", "\n\n".join(lines),
                   course_path)


@periodic("credentials.expiry_reminders", every=timedelta(days=1), offset=REMINDER_HOUR)
def send_expiry_reminders(ctx: JobContext, period_start: datetime) -> None:
    remind_expiring(ctx.db, ctx.now, ctx.settings.public_url)
