"""Accounts: registration, login, email verification, password reset, roles.

Tokens in links are signed with the app's secret (itsdangerous) and expire. A password-reset link
embeds the time the password last changed, so it stops working once it has been used.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from blinker import Namespace
from email_validator import EmailNotValidError, validate_email
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.auth import passwords
from lms.auth.models import COURSE_ROLES, CourseRole, LoginSession, User, session_id
from lms.catalog.models import Course
from lms.db import utcnow
from lms.errors import Conflict, DomainError, NotFound
from lms.mail.services import queue_mail

signals = Namespace()
# Sent in the transaction that first marks an address verified (credentials subscribe: it can be
# the learner's last blocker).
email_verified = signals.signal("email-verified")

VERIFY_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 3600


class InvalidInput(DomainError):
    """A value the user typed is not acceptable; ``field`` names the form field to show it on."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class InvalidToken(DomainError):
    pass


@dataclass(frozen=True)
class Tokens:
    """Signs and checks the tokens in emailed links."""

    secret_key: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt=f"lms.{purpose}")

    def make(self, purpose: str, payload: dict) -> str:
        return self._serializer(purpose).dumps(payload)

    def read(self, purpose: str, token: str, max_age: int) -> dict:
        try:
            payload = self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise InvalidToken("This link has expired. Request a new one below.") from None
        except BadSignature:
            raise InvalidToken("This link is not valid. Check that you copied the whole link, "
                               "or request a new one.") from None
        if not isinstance(payload, dict):
            raise InvalidToken("This link is not valid.")
        return payload


def normalize_email(raw: str) -> str:
    """Lower-cased, syntax-checked address; raises InvalidInput with what to fix."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidInput(f"Enter a valid email address ({exc}).", "email") from None


def find_user_by_email(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(User.email == email.strip().lower(), User.deleted_at.is_(None)))


def create_user(db: Session, hasher: PasswordHasher, email: str, name: str, password: str, *,
                is_admin: bool = False, verified: bool = False) -> User:
    """Create an account (in the caller's transaction). Raises InvalidInput or Conflict."""
    email = normalize_email(email)
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Enter your name as you want it on your credentials.", "name")
    if len(name) > 120:
        raise InvalidInput("Use at most 120 characters for your name.", "name")
    problem = passwords.weakness(password, email)
    if problem:
        raise InvalidInput(problem, "password")
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with this email already exists. Log in, or reset your password.")
    user = User(email=email, name=name, password_hash=hasher.hash(password), is_admin=is_admin,
                email_verified_at=utcnow() if verified else None, password_changed_at=utcnow())
    db.add(user)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError:  # registered by a concurrent request between our check and insert
        raise Conflict("An account with this email already exists. Log in, or reset your password.") from None
    return user


def register(db: Session, hasher: PasswordHasher, tokens: Tokens, base_url: str, email: str, name: str,
             password: str) -> User:
    """Self-registration: create the learner and email them a verification link."""
    user = create_user(db, hasher, email, name, password)
    send_verification(db, tokens, base_url, user)
    return user


# A fixed hash to verify against when the email is unknown, so a login attempt takes as long
# whether or not the account exists.
@functools.lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not-a-real-password-for-timing")


def authenticate(db: Session, hasher: PasswordHasher, email: str, password: str) -> User | None:
    """The user with this email and password, or None (one answer for every kind of failure)."""
    user = find_user_by_email(db, email)
    if user is None:
        passwords.verify(hasher, _dummy_hash(hasher), password)
        return None
    if not passwords.verify(hasher, user.password_hash, password):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


# -- the logged-in user and their login sessions ----------------------------------------------------

SESSION_LIFETIME = timedelta(days=31)  # also Flask's PERMANENT_SESSION_LIFETIME (lms.create_app): one limit


@dataclass(frozen=True)
class SessionUser:
    """The logged-in person as pages see them (``current_user``): a read-only snapshot.

    Loaded on every request, so it is one lean query rather than an ORM entity; a service that
    changes the account loads the ``User`` row itself.
    """

    id: int
    email: str
    name: str
    is_admin: bool
    email_verified_at: datetime | None
    password_changed_at: datetime
    unread_notifications: int = 0  # the header's count (kept by lms.notifications)
    is_course_staff: bool = False  # instructor or grader of some course: the header links the grading queue
    is_instructor: bool = False  # instructor of some course: the header links their course dashboards
    session_token: str = ""  # this browser's LoginSession (its cookie holds it; the database, its hash)

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return session_id(self.id, self.password_changed_at, self.session_token)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_SESSION_USER_QUERY = (
    select(User.id, User.email, User.name, User.is_admin, User.email_verified_at, User.password_changed_at,
           User.unread_notifications,
           # An EXISTS in the same statement (on the (user_id, course_id, role) unique index), so the
           # header's "Grading" and "Teach" links cost no query of their own.
           exists().where(CourseRole.user_id == User.id).label("is_course_staff"),
           exists().where(CourseRole.user_id == User.id, CourseRole.role == "instructor").label("is_instructor"))
    .where(User.id == bindparam("user_id"), User.deleted_at.is_(None),
           # The login session is live: in the same statement, on the token's unique index.
           exists().where(LoginSession.token_hash == bindparam("token_hash"), LoginSession.user_id == User.id,
                          LoginSession.ended_at.is_(None), LoginSession.started_at > bindparam("since")))
)


def load_session_user(db: Session, stored_session_id: str, now: datetime | None = None) -> SessionUser | None:
    """The user a login session belongs to, or None if the account is gone, its password changed, or
    the session was ended (logged out, signed out elsewhere) or is older than SESSION_LIFETIME."""
    user_id, _, rest = stored_session_id.partition(":")
    _stamp, _, token = rest.partition(":")
    if not user_id.isdigit() or not token:
        return None
    now = now or utcnow()
    row = db.connection().execute(_SESSION_USER_QUERY, {"user_id": int(user_id), "token_hash": _token_hash(token),
                                                        "since": now - SESSION_LIFETIME}).first()
    if row is None:
        return None
    user = SessionUser(*row, session_token=token)
    return user if user.get_id() == stored_session_id else None


def start_session(db: Session, user: User) -> SessionUser:
    """Log ``user`` in on one browser: a new LoginSession, in the caller's transaction. Returns what
    to hand to Flask-Login's ``login_user`` (its id carries the new session's token)."""
    token = secrets.token_urlsafe(32)
    db.add(LoginSession(user_id=user.id, token_hash=_token_hash(token), started_at=utcnow()))
    db.flush()
    return SessionUser(user.id, user.email, user.name, user.is_admin, user.email_verified_at,
                       user.password_changed_at, session_token=token)


def end_session(db: Session, user_id: int, token: str) -> None:
    """Log out: this browser's session ends, for every copy of its cookie."""
    db.execute(update(LoginSession).where(LoginSession.user_id == user_id,
                                          LoginSession.token_hash == _token_hash(token),
                                          LoginSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_other_sessions(db: Session, user_id: int, keep_token: str | None = None) -> int:
    """End every live session of the account but the one holding ``keep_token``; how many ended."""
    conditions = [LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)]
    if keep_token is not None:
        conditions.append(LoginSession.token_hash != _token_hash(keep_token))
    return db.execute(update(LoginSession).where(*conditions).values(ended_at=utcnow())).rowcount


def live_sessions(db: Session, user_id: int, now: datetime | None = None) -> list[datetime]:
    """When each live session of the account started, newest first."""
    since = (now or utcnow()) - SESSION_LIFETIME
    return list(db.scalars(select(LoginSession.started_at).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None), LoginSession.started_at > since)
        .order_by(LoginSession.started_at.desc())))


def prune_sessions(db: Session, now: datetime) -> int:
    """Delete the sessions that can no longer log anyone in (ended, or older than the lifetime)."""
    return db.execute(delete(LoginSession).where(
        (LoginSession.ended_at.is_not(None)) | (LoginSession.started_at <= now - SESSION_LIFETIME))
        .execution_options(synchronize_session=False)).rowcount


# -- email verification -------------------------------------------------------------------------

def send_verification(db: Session, tokens: Tokens, base_url: str, user: User | SessionUser) -> None:
    token = tokens.make("verify-email", {"uid": user.id, "email": user.email})
    queue_mail(db, user.email, "Confirm your email address for Skillmark",
               f"Hello {user.name},\n\n"
               f"Confirm your email address to be able to receive credentials:\n\n"
               f"{base_url}/verify-email/{token}\n\n"
               f"The link works for 3 days. If you did not create a Skillmark account, ignore this message.\n")


def _user_from_token(db: Session, tokens: Tokens, purpose: str, token: str, max_age: int) -> tuple[User, dict]:
    payload = tokens.read(purpose, token, max_age)
    user_id = payload.get("uid")
    user = db.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active:
        raise InvalidToken("This link is not valid for any account.")
    return user, payload


def verify_email(db: Session, tokens: Tokens, token: str) -> User:
    user, payload = _user_from_token(db, tokens, "verify-email", token, VERIFY_MAX_AGE)
    if user.email != payload.get("email"):  # the address changed since the link was sent
        raise InvalidToken("This link is not valid for any account.")
    _mark_verified(db, user)
    return user


def _mark_verified(db: Session, user: User) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        db.flush()
        email_verified.send(db, user_id=user.id)


# -- password reset -----------------------------------------------------------------------------

def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def request_password_reset(db: Session, tokens: Tokens, base_url: str, email: str) -> None:
    """Email a reset link if the account exists; the caller answers the same either way."""
    user = find_user_by_email(db, email)
    if user is None:
        return
    token = tokens.make("reset-password", {"uid": user.id, "pwc": _stamp(user.password_changed_at)})
    queue_mail(db, user.email, "Reset your Skillmark password",
               f"Hello {user.name},\n\n"
               f"Someone (hopefully you) asked to reset the password of your Skillmark account.\n"
               f"Choose a new password here:\n\n"
               f"{base_url}/reset-password/{token}\n\n"
               f"The link works once, for one hour. If you did not ask for it, ignore this message: "
               f"your password stays as it is.\n")


def user_for_reset_token(db: Session, tokens: Tokens, token: str) -> User:
    user, payload = _user_from_token(db, tokens, "reset-password", token, RESET_MAX_AGE)
    if payload.get("pwc") != _stamp(user.password_changed_at):
        raise InvalidToken("This link has already been used. Request a new one if you still need it.")
    return user


def reset_password(db: Session, hasher: PasswordHasher, tokens: Tokens, token: str, new_password: str) -> User:
    user = user_for_reset_token(db, tokens, token)
    set_password(hasher, user, new_password)
    end_other_sessions(db, user.id)  # (their ids no longer match either; this keeps the list true)
    # Following the link proves the person reads this mailbox.
    _mark_verified(db, user)
    return user


def set_password(hasher: PasswordHasher, user: User, new_password: str) -> None:
    problem = passwords.weakness(new_password, user.email)
    if problem:
        raise InvalidInput(problem, "password")
    user.password_hash = hasher.hash(new_password)
    user.password_changed_at = utcnow()  # ends every session (their ids hold it) and used reset links


# -- roles --------------------------------------------------------------------------------------

def grant(db: Session, user: User, role: str, course_slug: str | None = None, actor_id: int | None = None) -> bool:
    """Give a role: "admin" (site-wide) or "instructor"/"grader" of a course. False if already held."""
    if role == "admin":
        if user.is_admin:
            return False
        user.is_admin = True
        audit.record(db, "role.grant", "user", user.id, actor_id, role="admin")
        return True
    course = _course_for_role(db, role, course_slug)
    exists = db.scalar(select(CourseRole.id).where(
        CourseRole.user_id == user.id, CourseRole.course_id == course.id, CourseRole.role == role))
    if exists:
        return False
    db.add(CourseRole(user_id=user.id, course_id=course.id, role=role, granted_by_id=actor_id))
    audit.record(db, "role.grant", "user", user.id, actor_id, role=role, course_id=course.id)
    return True


def revoke(db: Session, user: User, role: str, course_slug: str | None = None, actor_id: int | None = None) -> bool:
    if role == "admin":
        if not user.is_admin:
            return False
        user.is_admin = False
        audit.record(db, "role.revoke", "user", user.id, actor_id, role="admin")
        return True
    course = _course_for_role(db, role, course_slug)
    row = db.scalar(select(CourseRole).where(
        CourseRole.user_id == user.id, CourseRole.course_id == course.id, CourseRole.role == role))
    if row is None:
        return False
    db.delete(row)
    audit.record(db, "role.revoke", "user", user.id, actor_id, role=role, course_id=course.id)
    return True


def _course_for_role(db: Session, role: str, course_slug: str | None) -> Course:
    if role not in COURSE_ROLES:
        raise InvalidInput(f"Unknown role {role!r}; use one of: admin, {', '.join(COURSE_ROLES)}.", "role")
    if not course_slug:
        raise InvalidInput(f"The {role} role is given for a course: name the course with --course SLUG.", "course")
    course = db.scalar(select(Course).where(Course.slug == course_slug))
    if course is None:
        raise NotFound(f"No course with slug {course_slug!r}. Run `flask courses sync` first, "
                       "or check the slug with `flask courses list`.")
    return course


def roles_of(db: Session, user: User) -> list[tuple[str, str]]:
    """(role, course slug) pairs held by a user, for display."""
    rows = db.execute(select(CourseRole.role, Course.slug).join(Course, Course.id == CourseRole.course_id)
                      .where(CourseRole.user_id == user.id).order_by(Course.slug, CourseRole.role)).all()
    return [(role, slug) for role, slug in rows]
