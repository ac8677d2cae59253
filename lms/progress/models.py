"""Change stamps: what the dashboard cache checks its entries against (decision 0026)."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base


class ChangeStamp(Base):
    """A random number replaced by database triggers (migration 0012) whenever a row the learner
    dashboard reads is written: scope ``learner:<user id>`` for the learner's enrollments,
    completions, quiz attempts, capstone submissions, review cards and credentials, ``catalog`` for
    courses and pathways. The application never writes it. No foreign key on purpose: deleting an
    account cascades to rows whose triggers stamp it."""

    __tablename__ = "change_stamps"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    stamp: Mapped[int] = mapped_column(BigInteger)
