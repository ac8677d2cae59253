"""A learner's enrollment in a course and what they have completed in it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

TRACKS = ("credential", "audit")
COMPLETION_HOWS = ("read", "passed", "tested_out")


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id"),
        CheckConstraint("track IN ('credential', 'audit')", name="known_track"),
        # The instructor's "learners at risk": a course's enrollments by last activity, one index range.
        Index("ix_enrollments_course_activity", "course_id", "last_activity_at"),
        # Active learners this week across the site (the admin overview).
        Index("ix_enrollments_last_activity_at", "last_activity_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    track: Mapped[str] = mapped_column(String(20), default="credential")
    # Where "Continue" takes the learner: the last item they opened.
    last_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When an instructor last sent this learner a nudge (at most one a week: lms/instructor).
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ItemCompletion(Base):
    __tablename__ = "item_completions"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "item_id"),
        CheckConstraint("how IN ('read', 'passed', 'tested_out')", name="known_how"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    how: Mapped[str] = mapped_column(String(20))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
