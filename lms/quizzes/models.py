"""Quizzes and their versioned questions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
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


ATTEMPT_STATES = ("open", "submitted")


class QuizAttempt(Base):
    """One attempt at a quiz: the questions drawn (and their option orders) are fixed at the start
    from a stored seed, so a reload or another device resumes exactly the same attempt."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "quiz_item_id", "number"),
        # At most one open attempt per learner and quiz.
        Index("uq_quiz_attempts_open", "enrollment_id", "quiz_item_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
        CheckConstraint("(state = 'open' AND submitted_at IS NULL) OR "
                        "(state = 'submitted' AND submitted_at IS NOT NULL)", name="state_matches_submitted_at"),
        CheckConstraint("number >= 1", name="positive_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique (enrollment_id, quiz_item_id, number) index serves lookups by enrollment)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    quiz_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="open")
    # The drawn questions in presentation order: [{"question_id": 7, "order": [2, 0, 1]}, ...]
    # ("order": the options, pairs' answers, items or drop-down options as shown, by original index).
    layout: Mapped[list] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    points_earned: Mapped[float | None] = mapped_column(Float)
    points_possible: Mapped[float | None] = mapped_column(Float)
    pending: Mapped[int] = mapped_column(Integer, default=0)  # essays awaiting a grader
    passed: Mapped[bool | None] = mapped_column()  # None until graded (or while essays are pending)

    @property
    def percent(self) -> float | None:
        if self.points_earned is None or not self.points_possible:
            return None
        return 100 * self.points_earned / self.points_possible


class AttemptAnswer(Base):
    """The learner's answer to one question (version) of an attempt."""

    __tablename__ = "attempt_answers"
    # Indexes are few on purpose: a submit writes a row per question, and an index by question_id
    # alone would put each of them on a different page. Answers are found through their attempt
    # (the unique index), and essays awaiting a grader through a small partial index.
    __table_args__ = (
        UniqueConstraint("attempt_id", "question_id"),
        Index("ix_attempt_answers_pending", "attempt_id", sqlite_where=text("status = 'pending'"),
              postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    response: Mapped[dict | list | str | int | bool | None] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Final once checked (immediate feedback) or submitted; then scored.
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fraction: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(20))  # correct, partial, incorrect, pending, unanswered
    # Essays: the learner's Markdown rendered once when saved (through lms.markup), and the grading.
    response_html: Mapped[str | None] = mapped_column(Text)
    grader_comment: Mapped[str | None] = mapped_column(Text)
    graded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
