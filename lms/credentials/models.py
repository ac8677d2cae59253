"""Achievements (what can be earned, versioned like rubrics), issued credentials, and status lists.

A credential is current until it is revoked or superseded (by its renewal). The database, not the
code, guarantees that a learner holds at most one current credential per achievement: a partial
unique index on (user, achievement) over current rows, so two events racing to issue the same
credential cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

ACHIEVEMENT_KINDS = ("course", "pathway")


class Achievement(Base):
    """Something a learner can earn: a course's credential, or a pathway's. Its definition is versioned."""

    __tablename__ = "achievements"
    __table_args__ = (
        CheckConstraint("kind IN ('course', 'pathway')", name="known_kind"),
        CheckConstraint("(kind = 'course') = (course_id IS NOT NULL)", name="course_achievements_name_a_course"),
        UniqueConstraint("slug"),
        UniqueConstraint("course_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    slug: Mapped[str] = mapped_column(String(120))  # in its public URL: /achievements/<slug>
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the course or pathway was removed


class AchievementVersion(Base):
    """One version of an achievement's definition (name, criteria, skills, requirements, validity) as
    canonical JSON; a credential keeps the version it was issued under."""

    __tablename__ = "achievement_versions"
    __table_args__ = (
        UniqueConstraint("achievement_id", "version"),
        Index("uq_achievement_versions_live", "achievement_id", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
        CheckConstraint("version >= 1", name="positive_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StatusList(Base):
    """A revocation Bitstring Status List. ``bits`` is the list; ``document`` the signed credential that
    publishes it, re-signed in the same transaction as every change, so it is never stale."""

    __tablename__ = "status_lists"
    __table_args__ = (
        CheckConstraint("purpose IN ('revocation')", name="known_purpose"),
        CheckConstraint("entries >= 131072", name="at_least_the_minimum_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20), default="revocation")
    entries: Mapped[int] = mapped_column(Integer)
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    document: Mapped[dict | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Credential(Base):
    """A credential issued to a learner: the signed document exactly as downloaded, and its state.

    A renewal first marks the old credential superseded (``superseded_at``), then inserts the new one
    and links it (``superseded_by_id``): the "one current credential" index looks at the timestamp, so
    the two steps never hold two current rows, and two racing renewals cannot both supersede it."""

    __tablename__ = "credentials"
    __table_args__ = (
        # At most one current credential per learner and achievement (the issuance race is decided here).
        Index("uq_credentials_current", "user_id", "achievement_id", unique=True,
              sqlite_where=text("revoked_at IS NULL AND superseded_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL AND superseded_at IS NULL")),
        UniqueConstraint("public_id"),
        UniqueConstraint("status_list_id", "status_index"),
        # Credentials issued per week (admin and course dashboards): a range on this index.
        Index("ix_credentials_issued_at", "issued_at"),
        CheckConstraint("valid_until IS NULL OR valid_until > valid_from", name="ends_after_it_starts"),
        CheckConstraint("(revoked_at IS NULL) = (revoke_reason IS NULL)", name="a_revocation_has_a_reason"),
        CheckConstraint("waiver IS NULL OR awarded_by_id IS NOT NULL", name="a_waiver_names_who_awarded"),
        CheckConstraint("status_index >= 0", name="status_index_not_negative"),
        CheckConstraint("superseded_by_id IS NULL OR superseded_at IS NOT NULL", name="superseded_has_a_time"),
        CheckConstraint("revoked_with_id IS NULL OR revoked_at IS NOT NULL", name="revoked_with_is_revoked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36))  # a random UUID: the public page's address
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"))
    achievement_version_id: Mapped[int] = mapped_column(ForeignKey("achievement_versions.id"))
    document: Mapped[dict] = mapped_column(JSON)
    status_list_id: Mapped[int] = mapped_column(ForeignKey("status_lists.id"))
    status_index: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)  # expiry reminders
    public: Mapped[bool] = mapped_column(default=True)  # the learner can make the public page private
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # A pathway credential revoked because a course credential it rested on was: that credential. Such a
    # one is issued again once the learner holds enough again; one revoked for its own sake never is.
    revoked_with_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("credentials.id"))
    expiry_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the 30-day reminder went out
    # A manual award: who gave it and the written reason the blockers were waived (audited).
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    waiver: Mapped[str | None] = mapped_column(Text)
