"""Accounts and course roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

COURSE_ROLES = ("instructor", "grader")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are compared case-insensitively by storing them lower-case; the database insists.
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("unread_notifications >= 0", name="unread_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped whenever the password changes: password-reset links embed it, so each link works once.
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Kept by lms.notifications (incremented on notify, decremented when read) so the page header
    # shows the count from the session-user query, without a statement of its own on every page.
    unread_notifications: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


def session_id(user_id: int, password_changed_at: datetime, token: str) -> str:
    """What a login session's cookie stores: the account, when its password was set (changing the
    password logs out every other session of the account) and the token of its ``LoginSession`` row
    (logging out ends that row, so a copy of the cookie stops working too)."""
    return f"{user_id}:{int(password_changed_at.timestamp() * 1000)}:{token}"


class LoginSession(Base):
    """One login, in one browser: created by logging in, ended by logging out (or by "sign out
    everywhere else", a password change or the account's deletion). The cookie holds the token; the
    database holds only its SHA-256, so a copy of the database logs nobody in. Sessions also end when
    they are older than the session lifetime (31 days); ``auth.prune_sessions`` deletes such rows."""

    __tablename__ = "login_sessions"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_it_starts"),
        Index("ix_login_sessions_user_id_started_at", "user_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CourseRole(Base):
    """A user's staff role in one course. Every user is a learner; admin is a flag on users."""

    __tablename__ = "course_roles"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", "role"),
        CheckConstraint("role IN ('instructor', 'grader')", name="known_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
