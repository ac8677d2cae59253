"""Courses as synced from disk: courses, modules, items (lessons, quizzes, capstones), media."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

LEVELS = ("beginner", "intermediate", "advanced")


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("level IN ('beginner', 'intermediate', 'advanced')", name="known_level"),
        CheckConstraint("rating_count >= 0 AND rating_total >= rating_count AND rating_total <= 5 * rating_count",
                        name="rating_totals_consistent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))
    description_html: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(20))
    estimated_hours: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str] = mapped_column(String(20), default="en")
    skills: Mapped[list] = mapped_column(JSON, default=list)
    outcomes: Mapped[list] = mapped_column(JSON, default=list)
    authors: Mapped[list] = mapped_column(JSON, default=list)
    version: Mapped[str] = mapped_column(String(40), default="")
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    review_every_months: Mapped[int | None] = mapped_column(Integer)
    # Slugs of the courses to complete before this one (course.yml `prerequisites`); [] leaves it open.
    prerequisites: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # The learners' reviews, summed as they are written (lms/course_reviews keeps them in step in the
    # same transaction), so the catalog shows the average without aggregating every review.
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Lower-cased title, summary and skills: what catalog search matches against on every backend.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # Hash of the whole course folder: changes whenever anything in it changes, so per-process
    # caches of the outline are keyed by it and need no invalidation messages between nodes.
    content_hash: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Module(Base):
    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    # Slugs of the modules of the same course to complete first (module.yml `prerequisites`).
    prerequisites: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    content_hash: Mapped[str] = mapped_column(String(64))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Item(Base):
    """One lesson, quiz or capstone. Items keep their id across syncs; learner rows point here."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("module_id", "slug"),
        # The capstone sits at the course root (no module): at most one item of a slug there.
        Index(
            "uq_items_course_root_slug",
            "course_id",
            "slug",
            unique=True,
            sqlite_where=text("module_id IS NULL"),
            postgresql_where=text("module_id IS NULL"),
        ),
        CheckConstraint("kind IN ('lesson', 'quiz', 'capstone')", name="known_kind"),
        # Every quiz says what it is for, and only quizzes do (the outline counts module quizzes as steps).
        CheckConstraint("(kind = 'quiz') = (quiz_role IS NOT NULL)", name="quizzes_have_a_role"),
        CheckConstraint("quiz_role IN ('module', 'placement', 'recertification')", name="known_quiz_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    # A quiz's role (front matter `role`): "module" quizzes are steps of the course; a "placement" quiz
    # tests a learner out of its module; a "recertification" quiz renews a credential. None otherwise.
    quiz_role: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int | None] = mapped_column(Integer)
    objectives: Mapped[list] = mapped_column(JSON, default=list)
    html: Mapped[str] = mapped_column(Text, default="")
    source_path: Mapped[str] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MediaFile(Base):
    """A course asset (image, data file) copied into the instance's media folder by content hash."""

    __tablename__ = "media_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    extension: Mapped[str] = mapped_column(String(10))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Pathway(Base):
    """A pathway as synced from courses/_pathways/<slug>.yml: the courses whose credentials stack into
    its own (which lms/credentials keeps as an achievement of kind "pathway"). Retired, never deleted."""

    __tablename__ = "pathways"
    __table_args__ = (CheckConstraint("required_count >= 1", name="requires_a_course"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")  # what the holder can do (plain text)
    skills: Mapped[list] = mapped_column(JSON, default=list)  # skill names, for the pages
    required_count: Mapped[int] = mapped_column(Integer)  # how many of its courses; all of them for `require: all`
    content_hash: Mapped[str] = mapped_column(String(64))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PathwayCourse(Base):
    """One course of a pathway, in the pathway's order."""

    __tablename__ = "pathway_courses"
    __table_args__ = (
        UniqueConstraint("pathway_id", "course_id"),
        UniqueConstraint("pathway_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(ForeignKey("pathways.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
