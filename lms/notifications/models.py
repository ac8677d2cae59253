"""In-app notifications and each user's email choices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow


class Notification(Base):
    """Something that happened that a user should know about. Newest first, read or unread.

    ``kind`` is a key of ``NOTIFICATION_KINDS``; it has no CHECK because later issues add kinds
    without a migration (the service refuses unknown ones).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        # Links point inside the site: a notification can never send someone elsewhere.
        CheckConstraint("link IS NULL OR link LIKE '/%'", name="link_is_site_path"),
        # The list is paged by id within a user (keyset), so this index answers every page.
        Index("ix_notifications_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationPreference(Base):
    """A user's choice for one kind. No row means the kind's default (``Kind.email_default``)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
