"""Per-course summaries the instructor dashboard reads instead of aggregating every learner's rows live."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime


class CourseStats(Base):
    """The dashboard's figures for one course as of ``computed_at``, refreshed in the background.

    One row per course; ``data`` is the snapshot (its shape is lms/instructor/stats.py's to define).
    """

    __tablename__ = "course_stats"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    data: Mapped[dict] = mapped_column(JSON)
