"""Capstone projects: the rubric's versions, learners' submissions (one row per version), their
files, and the review of each version.

States a submission moves through (every change is a conditional UPDATE, recorded in audit_events):

    draft --submit--> submitted --claim--> in_review --grade--> passed | needs_revision | not_passed
                          ^                    |                            |
                          +-- release/expiry --+        needs_revision --revise--> a new version (draft)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

SUBMISSION_STATES = ("draft", "submitted", "in_review", "needs_revision", "passed", "not_passed")
OPEN_STATES = ("draft", "submitted", "in_review")  # at most one version of a learner's capstone is open
WAITING_STATES = ("submitted", "in_review")  # what the grader queue lists
OUTCOMES = ("passed", "needs_revision", "not_passed")


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class CapstoneVersion(Base):
    """One version of a capstone's definition (deliverables, rubric, pass rule, checks) as canonical
    JSON. A sync that changes it adds a version; submissions and reviews keep the one they used."""

    __tablename__ = "capstone_versions"
    __table_args__ = (
        UniqueConstraint("item_id", "version"),
        Index("uq_capstone_versions_live", "item_id", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
        CheckConstraint("version >= 1", name="positive_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Submission(Base):
    """Version ``version`` of a learner's capstone. A revision is a new row; old ones keep their review."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "item_id", "version"),
        Index("uq_submissions_open", "enrollment_id", "item_id", unique=True,
              sqlite_where=text(f"state IN ({_sql_list(OPEN_STATES)})"),
              postgresql_where=text(f"state IN ({_sql_list(OPEN_STATES)})")),
        # The grader queue and its counts: waiting versions, oldest first (keyset pagination on
        # submitted_at, id), covering the course and claim filters so the queue reads only the index.
        # Deliberately no (course_id, state) index: with one, SQLite fetches and sorts every waiting
        # row of the grader's courses instead of reading this index in order (bench: 0.03 -> see
        # docs/operations.md#performance).
        Index("ix_submissions_waiting", "submitted_at", "id", "course_id", "state", "claim_expires_at",
              sqlite_where=text(f"state IN ({_sql_list(WAITING_STATES)})"),
              postgresql_where=text(f"state IN ({_sql_list(WAITING_STATES)})")),
        # PostgreSQL only: the queue of several courses reads each course's oldest waiting versions from
        # this one (a LATERAL top-N per course, lms.capstones.services._queue_statement), where reading the
        # index above in order made PostgreSQL fetch every waiting row of those courses and sort them
        # (389 rows for a grader of 4 courses at size L). SQLite must not have it (see above).
        Index("ix_submissions_waiting_by_course", "course_id", "submitted_at", "id", "state", "claim_expires_at",
              postgresql_where=text(f"state IN ({_sql_list(WAITING_STATES)})")).ddl_if(dialect="postgresql"),
        CheckConstraint(f"state IN ({_sql_list(SUBMISSION_STATES)})", name="known_state"),
        CheckConstraint("(state = 'draft') = (submitted_at IS NULL)", name="submitted_at_matches_state"),
        CheckConstraint("(state = 'in_review') = (claim_expires_at IS NOT NULL)", name="claim_matches_state"),
        CheckConstraint(f"(state IN ({_sql_list(OUTCOMES)})) = (decided_at IS NOT NULL)",
                        name="decided_at_matches_state"),
        CheckConstraint("share_token IS NULL OR state = 'passed'", name="only_passed_shared"),
        CheckConstraint("version >= 1", name="positive_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # (no index of its own: the unique (enrollment_id, item_id, version) index serves it)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    # The capstone's course, kept here so the grader queue filters without joining items.
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    # The definition the learner worked to; fixed when they submit, and the one the review grades with.
    capstone_version_id: Mapped[int] = mapped_column(ForeignKey("capstone_versions.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    text_html: Mapped[str] = mapped_column(Text, default="")  # rendered once when saved, through lms.markup
    links: Mapped[list] = mapped_column(JSON, default=list)
    # The automated checks' results when submitted: suggestions for the grader, never a grade.
    checks: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The unguessable public address of a passed capstone the learner chose to share.
    share_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    shared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SubmissionFile(Base):
    """A file attached to one submission version, stored once by content hash (lms.uploads)."""

    __tablename__ = "submission_files"
    __table_args__ = (
        UniqueConstraint("submission_id", "name"),
        CheckConstraint("size > 0", name="positive_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))  # sanitised display name; never a path on disk
    extension: Mapped[str] = mapped_column(String(10))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Review(Base):
    """The grading of one submission version. The unique submission decides a double grading."""

    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({_sql_list(OUTCOMES)})", name="known_outcome"),
        CheckConstraint(f"suggested_outcome IN ({_sql_list(OUTCOMES)})", name="known_suggested_outcome"),
        # Passing a submission that misses the pass rule, or failing one that meets it, is an
        # instructor's override and always carries its written reason.
        CheckConstraint("((outcome = 'passed') = meets_rule) OR "
                        "(override_reason IS NOT NULL AND overridden_by_id IS NOT NULL)", name="override_has_reason"),
        # A grader's own throughput per week (the grader dashboard).
        Index("ix_reviews_grader_graded_at", "grader_id", "graded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id", ondelete="CASCADE"), unique=True)
    grader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    capstone_version_id: Mapped[int] = mapped_column(ForeignKey("capstone_versions.id"))
    scores: Mapped[dict] = mapped_column(JSON)  # criterion key -> points of the chosen level
    criterion_comments: Mapped[dict] = mapped_column(JSON, default=dict)  # criterion key -> comment
    comment: Mapped[str] = mapped_column(Text, default="")
    comment_html: Mapped[str] = mapped_column(Text, default="")
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    meets_rule: Mapped[bool] = mapped_column(Boolean)
    suggested_outcome: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    override_reason: Mapped[str | None] = mapped_column(Text)
    overridden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def is_waiting():
    """``state IN ('submitted', 'in_review')`` with the values written into the SQL, as in the partial
    index ix_submissions_waiting: a database can only use a partial index when the query's condition
    implies the index's, and with bound parameters SQLite (and PostgreSQL's generic plans) cannot see
    that it does; the queue would scan the whole table."""
    return Submission.state.in_([literal_column(f"'{state}'") for state in WAITING_STATES])
