"""Per-course summaries the instructor dashboard reads instead of aggregating every learner's rows live, and
the learners' progress exports (CSV files built in the background)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow


class CourseStats(Base):
    """The dashboard's figures for one course as of ``computed_at``, refreshed in the background.

    One row per course; ``data`` is the snapshot (its shape is lms/instructor/stats.py's to define).
    """

    __tablename__ = "course_stats"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict] = mapped_column(JSON)


# The export's states. "queued" until its job wrote the file ("ready") or gave up ("failed"); whether
# the job is running or retrying right now is the job's own row (jobs.claimed_until, last_error).
EXPORT_STATES = ("queued", "ready", "failed")
OPEN_EXPORT = "state = 'queued'"


class CourseExport(Base):
    """A CSV of a course's learners' progress, built by the job ``instructor.build_course_export``.

    The file is ``<exports_dir>/<file_name>`` (lms/instructor/exports.py writes it under a temporary
    name and renames it into place). At most one export per course is queued at a time (a partial
    unique index), so two clicks, or two instructors at once, start one job. Rows and files older
    than ``exports.KEEP_FOR`` are deleted by the periodic ``instructor.prune_exports``.
    """

    __tablename__ = "course_exports"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'ready', 'failed')", name="known_state"),
        CheckConstraint("(state = 'queued') = (finished_at IS NULL)", name="finished_unless_queued"),
        CheckConstraint("(state = 'ready') = (file_name IS NOT NULL)", name="ready_has_a_file"),
        CheckConstraint("state <> 'ready' OR (row_count IS NOT NULL AND size_bytes IS NOT NULL)",
                        name="ready_has_rows_and_size"),
        CheckConstraint("(state = 'failed') = (error IS NOT NULL)", name="failed_has_an_error"),
        CheckConstraint("row_count IS NULL OR row_count >= 0", name="row_count_not_negative"),
        CheckConstraint("size_bytes IS NULL OR size_bytes >= 0", name="size_not_negative"),
        Index("uq_course_exports_queued", "course_id", unique=True,
              sqlite_where=text(OPEN_EXPORT), postgresql_where=text(OPEN_EXPORT)),
        Index("ix_course_exports_course_requested", "course_id", "requested_at"),
        Index("ix_course_exports_requested_at", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    row_count: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_name: Mapped[str | None] = mapped_column(String(200))  # relative to the exports folder
    error: Mapped[str | None] = mapped_column(Text)
