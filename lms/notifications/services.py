"""Notifications: in-app messages, and an email for each unless the user turned that kind off.

``notify(db, user_id, kind, title, body, link)`` writes the notification, bumps the user's unread
counter and queues the email as a job, all in the caller's transaction: if the change that caused
it rolls back, there is no notification and no email. The email is composed when the job runs (with
the current address, the current preference, and a one-click unsubscribe link for that kind).
``notify_many`` does the same for a batch in a fixed number of statements (periodic reminders).

Kinds live in ``NOTIFICATION_KINDS``; a feature adds its own with ``register_kind``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import bindparam, case, exists, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.auth.models import CourseRole, User
from lms.db import utcnow
from lms.errors import DomainError, NotFound
from lms.jobs import JobContext, PermanentFailure, enqueue, enqueue_many, job_handler
from lms.mail.services import send_now
from lms.notifications.models import Notification, NotificationPreference

AUDIENCES = ("learner", "grader", "all")
EMAIL_JOB = "notifications.email"
PAGE_SIZE = 20
UNSUBSCRIBE_SALT = "lms.unsubscribe"  # its own salt: a token signed for another purpose never fits here


@dataclass(frozen=True)
class Kind:
    """A kind of notification. ``label`` is the checkbox on the preferences page; ``audience`` says
    who is offered the choice (graders are staff of at least one course)."""

    label: str
    email_default: bool = True
    audience: str = "all"

    def __post_init__(self):
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}")


NOTIFICATION_KINDS: dict[str, Kind] = {
    "submission_graded": Kind("When my capstone is graded", email_default=True, audience="learner"),
    "submission_queued": Kind("When a submission enters my grading queue", email_default=True, audience="grader"),
    "grader_digest": Kind("Daily digest of my oldest waiting submissions", email_default=True, audience="grader"),
}


def register_kind(name: str, kind: Kind) -> None:
    """Add a kind (e.g. ``register_kind("credential_issued", Kind("When I earn a credential"))``)."""
    if not name.replace("_", "").isalnum() or len(name) > 40:
        raise ValueError("a kind's name is up to 40 letters, digits and underscores")
    if NOTIFICATION_KINDS.get(name, kind) != kind:
        raise ValueError(f"notification kind {name!r} is already registered differently")
    NOTIFICATION_KINDS[name] = kind


class UnknownNotificationKind(DomainError):
    def __init__(self, kind: str):
        super().__init__(f"There is no kind of notification called {kind!r}.")
        self.kind = kind


class InvalidUnsubscribeLink(DomainError):
    status_code = 400


def _kind(kind: str) -> Kind:
    try:
        return NOTIFICATION_KINDS[kind]
    except (KeyError, TypeError):
        raise UnknownNotificationKind(str(kind)) from None


def _site_path(link: str | None) -> str | None:
    if link is None:
        return None
    if not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > 500:
        raise ValueError(f"a notification links to a path on this site, not {link!r}")
    return link


# -- notifying -----------------------------------------------------------------------------------

def notify(db: Session, user_id: int, kind: str, title: str, body: str, link: str | None = None,
           email: bool = True) -> Notification | None:
    """Tell a user something, in the caller's transaction: an in-app notification, and an email
    unless ``email`` is False or the user turned this kind's email off.

    ``title`` (the email's subject too) and ``body`` are plain text; ``link`` is a path on this site.
    Returns None, doing nothing, for an account that is closed.
    """
    spec = _kind(kind)
    link = _site_path(link)
    title = _title(title)
    # The header's unread count comes from this counter (no count query per page). One UPDATE, which
    # also tells whether the account is still open.
    bumped = db.execute(update(User).where(User.id == user_id, User.deleted_at.is_(None))
                        .values(unread_notifications=User.unread_notifications + 1)
                        .execution_options(synchronize_session=False))
    if bumped.rowcount != 1:
        return None
    notification = Notification(user_id=user_id, kind=kind, title=title, body=body, link=link, created_at=utcnow())
    db.add(notification)
    if email and _wants_email(db, user_id, kind, spec):
        enqueue(db, EMAIL_JOB, _email_payload(notification))
    return notification


@dataclass(frozen=True)
class Message:
    """One user's notification in a batch (``notify_many``): the arguments ``notify`` takes."""

    user_id: int
    title: str
    body: str
    link: str | None = None


def notify_many(db: Session, kind: str, messages: Sequence[Message], email: bool = True) -> list[Notification]:
    """``notify`` for a batch (a periodic job's reminders), in the caller's transaction and in a fixed
    number of statements however many messages: one UPDATE of the unread counters (which also says
    whose accounts are open), one read of the email choices, one INSERT of the notifications and one
    of the email jobs. Closed accounts get nothing. Returns the notifications written."""
    spec = _kind(kind)
    prepared = [Message(m.user_id, _title(m.title), m.body, _site_path(m.link)) for m in messages]
    if not prepared:
        return []
    per_user = Counter(m.user_id for m in prepared)
    open_ids = set(db.scalars(update(User).where(User.id.in_(list(per_user)), User.deleted_at.is_(None))
                              .values(unread_notifications=User.unread_notifications
                                      + case(per_user, value=User.id, else_=0))
                              .returning(User.id).execution_options(synchronize_session=False)))
    prepared = [m for m in prepared if m.user_id in open_ids]
    if not prepared:
        return []
    now = utcnow()
    written = list(db.scalars(insert(Notification).returning(Notification), [
        {"user_id": m.user_id, "kind": kind, "title": m.title, "body": m.body, "link": m.link, "created_at": now}
        for m in prepared]))
    if email:
        chosen = dict(db.execute(select(NotificationPreference.user_id, NotificationPreference.email)
                                 .where(NotificationPreference.kind == kind,
                                        NotificationPreference.user_id.in_(list(open_ids)))).all())
        enqueue_many(db, EMAIL_JOB, [_email_payload(n) for n in written
                                     if chosen.get(n.user_id, spec.email_default)])
    return written


def _title(title: str) -> str:
    title = " ".join(title.split())
    return title[:199] + "…" if len(title) > 200 else title


def _email_payload(notification: Notification) -> dict:
    # The email is composed when the job runs: with the address and the choice of that moment.
    return {"user_id": notification.user_id, "kind": notification.kind, "title": notification.title,
            "body": notification.body, "link": notification.link}


def _wants_email(db: Session, user_id: int, kind: str, spec: Kind) -> bool:
    choice = db.scalar(select(NotificationPreference.email).where(NotificationPreference.user_id == user_id,
                                                                  NotificationPreference.kind == kind))
    return spec.email_default if choice is None else choice


def wants_email(db: Session, user_id: int, kind: str) -> bool:
    return _wants_email(db, user_id, kind, _kind(kind))


# -- the email ------------------------------------------------------------------------------------

def unsubscribe_token(secret_key: str, user_id: int, kind: str) -> str:
    """A link token that turns off one kind's email for one user. It does not expire: an old email's
    link must keep working (RFC 8058), and all it can do is stop mail."""
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).dumps({"uid": user_id, "kind": kind})


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, str]:
    """(user id, kind) from a token; InvalidUnsubscribeLink if it was not made by us or names no kind."""
    try:
        payload = URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise InvalidUnsubscribeLink("This unsubscribe link is not valid: it may have been cut short or changed. "
                                     "Copy the whole link from the email, or change your email choices in your "
                                     "account.") from None
    if (not isinstance(payload, dict) or not isinstance(payload.get("uid"), int)
            or payload.get("kind") not in NOTIFICATION_KINDS):
        raise InvalidUnsubscribeLink("This unsubscribe link is for a kind of email we no longer send. "
                                     "You can check your email choices in your account.")
    return payload["uid"], payload["kind"]


def email_text(body: str, link_url: str | None, unsubscribe_url: str, preferences_url: str, label: str) -> str:
    parts = [body.rstrip()]
    if link_url:
        parts.append(f"Open it on Skillmark:\n{link_url}")
    parts.append(f"--\nYou receive this email because of your choice \"{label}\".\n"
                 f"Stop these emails: {unsubscribe_url}\nAll your email choices: {preferences_url}")
    return "\n\n".join(parts) + "\n"


@job_handler(EMAIL_JOB)
def _send_notification_email(ctx: JobContext, payload: dict) -> None:
    """Compose and send one notification email. Checks the address and the choice again at send
    time: someone who unsubscribed or closed the account since gets nothing."""
    user_id, kind = payload["user_id"], payload["kind"]
    spec = NOTIFICATION_KINDS.get(kind)
    if spec is None:
        raise PermanentFailure(f"notification kind {kind!r} is no longer registered")
    to = ctx.db.scalar(select(User.email).where(User.id == user_id, User.deleted_at.is_(None)))
    if to is None or not _wants_email(ctx.db, user_id, kind, spec):
        return
    if not ctx.settings.secret_key:
        raise RuntimeError("no secret key to sign the unsubscribe link with (set LMS_SECRET_KEY)")
    base = ctx.settings.public_url
    unsubscribe_url = f"{base}/unsubscribe/{unsubscribe_token(ctx.settings.secret_key, user_id, kind)}"
    body = email_text(payload["body"], f"{base}{payload['link']}" if payload.get("link") else None,
                      unsubscribe_url, f"{base}/account/notifications", spec.label)
    send_now(ctx, to, payload["title"], body, {
        # RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    })


# -- preferences ----------------------------------------------------------------------------------

def _is_staff(db: Session, user_id: int) -> bool:
    return bool(db.scalar(select(exists().where(CourseRole.user_id == user_id))))


def kinds_for(db: Session, user_id: int, is_admin: bool = False) -> list[str]:
    """The kinds whose email a user may choose: grader kinds only for course staff and admins."""
    staff = is_admin or _is_staff(db, user_id)
    return [name for name, kind in NOTIFICATION_KINDS.items() if kind.audience != "grader" or staff]


def email_choices(db: Session, user_id: int) -> dict[str, bool]:
    """Every kind's email on or off for this user (the kind's default where they never chose)."""
    rows = db.execute(select(NotificationPreference.kind, NotificationPreference.email)
                      .where(NotificationPreference.user_id == user_id))
    chosen = {kind: email for kind, email in rows}
    return {name: chosen.get(name, kind.email_default) for name, kind in NOTIFICATION_KINDS.items()}


def set_email_choice(db: Session, user_id: int, kind: str, email: bool) -> None:
    """Turn one kind's email on or off. An upsert: two submits at once cannot collide."""
    _kind(kind)
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = insert(NotificationPreference).values(user_id=user_id, kind=kind, email=email, updated_at=now)
    db.execute(statement.on_conflict_do_update(index_elements=["user_id", "kind"],
                                               set_={"email": email, "updated_at": now}))


def set_email_choices(db: Session, user_id: int, choices: dict[str, bool]) -> list[str]:
    """Save several choices; returns the kinds that changed."""
    current = email_choices(db, user_id)
    changed = []
    for kind, email in choices.items():
        _kind(kind)
        if current.get(kind) != email:
            set_email_choice(db, user_id, kind, email)
            changed.append(kind)
    return changed


@dataclass(frozen=True)
class Unsubscribed:
    email: str
    kind: str
    label: str
    changed: bool


def describe_unsubscribe(db: Session, secret_key: str, token: str) -> Unsubscribed:
    """What a token would do (for the confirmation page; changes nothing)."""
    user_id, kind = read_unsubscribe_token(secret_key, token)
    email = db.scalar(select(User.email).where(User.id == user_id, User.deleted_at.is_(None)))
    if email is None:
        raise InvalidUnsubscribeLink("This unsubscribe link belongs to an account that no longer exists: "
                                     "it receives no email.")
    return Unsubscribed(email, kind, NOTIFICATION_KINDS[kind].label, wants_email(db, user_id, kind))


def unsubscribe(db: Session, secret_key: str, token: str) -> Unsubscribed:
    """Turn off the email the token names. The signed token is the authority: no login needed."""
    target = describe_unsubscribe(db, secret_key, token)
    user_id, kind = read_unsubscribe_token(secret_key, token)
    if target.changed:
        set_email_choice(db, user_id, kind, False)
    return target


# -- the list ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NotificationPage:
    items: list[Notification]
    next_before: int | None  # the keyset cursor of the next (older) page


def list_notifications(db: Session, user_id: int, before: int | None = None,
                       limit: int = PAGE_SIZE) -> NotificationPage:
    """Newest first, one page; ``before`` is the id the previous page ended at (keyset pagination:
    the cost of a page does not grow with how far back it is)."""
    query = select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(db.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return NotificationPage(rows, rows[-1].id if more else None)


def _decrement_unread(db: Session, user_id: int, by: int) -> None:
    # Relative, not "set to 0": a notification committed meanwhile by another transaction stays counted.
    db.execute(update(User).where(User.id == user_id)
               .values(unread_notifications=User.unread_notifications - by)
               .execution_options(synchronize_session=False))


def mark_read(db: Session, user_id: int, notification_id: int, now: datetime | None = None) -> Notification:
    """Mark one of the user's notifications read (again is fine). NotFound if it is not theirs."""
    marked = db.execute(update(Notification).where(Notification.id == notification_id,
                                                   Notification.user_id == user_id, Notification.read_at.is_(None))
                        .values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    if marked.rowcount:
        _decrement_unread(db, user_id, marked.rowcount)
    notification = db.scalar(select(Notification).where(Notification.id == notification_id,
                                                        Notification.user_id == user_id))
    if notification is None:
        raise NotFound("There is no such notification in your list.")
    return notification


def mark_all_read(db: Session, user_id: int, now: datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many there were."""
    marked = db.execute(update(Notification).where(Notification.user_id == user_id, Notification.read_at.is_(None))
                        .values(read_at=now or utcnow()).execution_options(synchronize_session=False))
    if marked.rowcount:
        _decrement_unread(db, user_id, marked.rowcount)
    return marked.rowcount


_LATEST_UNREAD = (select(Notification.id, Notification.kind, Notification.title, Notification.link,
                         Notification.created_at)
                  .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
                  .order_by(Notification.id.desc()).limit(bindparam("limit")))


def latest_unread(db: Session, user_id: int, limit: int = 5) -> list:
    """The newest unread notifications (id, kind, title, link, created_at), for the dashboard: one statement."""
    return db.connection().execute(_LATEST_UNREAD, {"user_id": user_id, "limit": limit}).all()


def unread_count(db: Session, user_id: int) -> int:
    """The stored counter (what the header shows)."""
    return db.scalar(select(User.unread_notifications).where(User.id == user_id)) or 0
