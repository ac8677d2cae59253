"""A learner's review of a course, and the instructor's reply to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow


class CourseReview(Base):
    __tablename__ = "course_reviews"
    __table_args__ = (
        UniqueConstraint("course_id", "user_id"),  # one per learner and course; editing updates it
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
        CheckConstraint("(reply IS NULL AND reply_html IS NULL AND replied_at IS NULL) OR "
                        "(reply IS NOT NULL AND reply_html IS NOT NULL AND replied_at IS NOT NULL)",
                        name="reply_complete"),
        # A course's rating distribution (GROUP BY rating) and the summary check read this index alone;
        # the catalog itself reads courses.rating_count / rating_total, kept in step by the services.
        Index("ix_course_reviews_course_rating", "course_id", "rating"),
        # The reviews page, newest first, one keyset page at a time (WHERE course_id = ? AND id < ?).
        Index("ix_course_reviews_course_newest", "course_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown as written
    body_html: Mapped[str] = mapped_column(Text, default="")  # rendered once, through lms.markup
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reply: Mapped[str | None] = mapped_column(Text)
    reply_html: Mapped[str | None] = mapped_column(Text)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
