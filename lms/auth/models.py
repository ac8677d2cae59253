"""Accounts and course roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, text
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

    def get_id(self) -> str:
        return session_id(self.id, self.password_changed_at)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


def session_id(user_id: int, password_changed_at: datetime) -> str:
    """What a login session stores. It includes when the password was set, so changing the
    password logs out every other session of the account."""
    return f"{user_id}:{int(password_changed_at.timestamp() * 1000)}"


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
