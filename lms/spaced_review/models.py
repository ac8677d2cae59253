"""One review card per question a learner missed in a quiz, and where it stands in the Leitner boxes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow

# Days until a card in box n is due again; a card answered right in the last box is learned.
BOX_INTERVAL_DAYS = {1: 1, 2: 3, 3: 7, 4: 14}
LEARNED_BOX = 5


class ReviewCard(Base):
    """A missed question (by its stable key, so a new version of the question keeps the card)."""

    __tablename__ = "review_cards"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "quiz_item_id", "question_key"),
        CheckConstraint("box BETWEEN 1 AND 5", name="known_box"),
        CheckConstraint("reviews >= 0 AND lapses >= 0", name="counts_not_negative"),
        # "How many are due" and "the next due cards" for an enrollment: one index range.
        Index("ix_review_cards_enrollment_due", "enrollment_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    quiz_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str] = mapped_column(String(120))
    box: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviews: Mapped[int] = mapped_column(Integer, default=0)  # review answers given
    lapses: Mapped[int] = mapped_column(Integer, default=0)  # times it went back to box 1
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When a quiz attempt last found the question missed (the attempt's submission time). A quiz event
    # sent again for the same attempt (an essay graded later, a regrade) finds it equal and changes
    # nothing, so a card is put back in box 1 once per attempt, never by a re-sent event.
    missed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The last review answer, so the outcome page (after the redirect) and a second tab that lost the
    # race show what happened: {"question_id", "order", "response", "status", "fraction"}.
    last_answer: Mapped[dict | None] = mapped_column(JSON)
