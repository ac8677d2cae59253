"""Quizzes and their versioned questions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

QUIZ_ROLES = ("module", "placement", "recertification")


class QuizConfig(Base):
    """A quiz item's settings, with defaults applied (one row per quiz item)."""

    __tablename__ = "quizzes"
    __table_args__ = (CheckConstraint("role IN ('module', 'placement', 'recertification')", name="known_role"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), default="module")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class QuestionVersion(Base):
    """One version of a question. A sync that changes a question adds a version and retires the old
    one; attempts keep pointing at the version they were graded with."""

    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("quiz_item_id", "key", "version"),
        # At most one live version of each question in a quiz.
        Index("uq_questions_live_key", "quiz_item_id", "key", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
        CheckConstraint("version >= 1", name="positive_version"),
        CheckConstraint("points > 0", name="positive_points"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    quiz_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(20))
    points: Mapped[float] = mapped_column(Float)
    spec: Mapped[dict] = mapped_column(JSON)  # the canonical JSON of the question
    html: Mapped[dict] = mapped_column(JSON)  # its texts rendered at sync (lms.questions.render paths)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
