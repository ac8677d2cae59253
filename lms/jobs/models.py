"""The job outbox: work written in the same transaction as the change that caused it, run after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

# The runner's one hot query ("what is due?") reads only open jobs, which stay few however many done
# ones accumulate, so the index covers just those.
OPEN_JOB = "done_at IS NULL AND failed_at IS NULL"


class Job(Base):
    """One unit of deferred work (send a mail, run a periodic task), claimed by one runner at a time.

    States: open (``done_at`` and ``failed_at`` empty; due once ``run_after`` has passed), done, or
    failed (gave up after ``max_attempts``, or the handler said retrying is pointless). A runner owns
    an open job while ``claimed_until`` is in the future; a crashed runner's claim simply expires.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("max_attempts >= 1", name="positive_max_attempts"),
        CheckConstraint("attempts >= 0 AND attempts <= max_attempts", name="attempts_in_range"),
        CheckConstraint("done_at IS NULL OR failed_at IS NULL", name="done_or_failed"),
        CheckConstraint("done_at IS NULL OR attempts >= 1", name="done_after_attempt"),
        CheckConstraint("failed_at IS NULL OR (attempts >= 1 AND last_error IS NOT NULL)", name="failed_with_error"),
        CheckConstraint("(claimed_by IS NULL) = (claimed_until IS NULL)", name="claim_complete"),
        Index("ix_jobs_due", "run_after", sqlite_where=text(OPEN_JOB), postgresql_where=text(OPEN_JOB)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # pruning finds old ones
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    @property
    def state(self) -> str:
        if self.done_at is not None:
            return "done"
        if self.failed_at is not None:
            return "failed"
        return "open"


class JobRun(Base):
    """One row per periodic job and period: the unique pair is what makes a period run once.

    Every ``flask jobs run-due`` on every node tries to insert the row for the current period; the
    insert that wins also enqueues the job (same transaction), so retries and crash recovery are the
    job outbox's.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("name", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
