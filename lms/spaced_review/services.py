"""Spaced review: how many questions are due, the next ones to show, and answering one. No HTTP objects.

A card is one question (by its stable key) that a learner missed in a quiz (lms/spaced_review/events.py
makes them). It sits in a Leitner box: answered right it moves up a box and comes back after that box's
interval (BOX_INTERVAL_DAYS: 1, 3, 7, 14 days); right in the last box it is learned and never due again;
answered wrong it goes back to box 1, due the next day. A review answer moves the card and nothing else:
no attempt, grade or completion is read for writing or changed here.

A card counts (as due, in a session) only while it can be shown: its course and quiz item are not
retired, the quiz is still a module or placement quiz, and its question still has a live version of a
type that can be scored on the spot (not an essay). Every count is one statement over the learner's
enrollments; the ``ix_review_cards_enrollment_due`` index serves the due range of each.

Answering is a conditional UPDATE on the box and review count read, so two tabs (or a double click)
move a card once: the request that changes the row wins; the other re-reads the card and answers with
what the winner recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from lms.catalog.models import Course, Item
from lms.db import UTCDateTime
from lms.enrollments.models import Enrollment
from lms.errors import Conflict, DomainError, NotFound
from lms.questions.scoring import score
from lms.quizzes import services as quizzes
from lms.quizzes.models import QuestionVersion, QuizConfig
from lms.quizzes.responses import UNSET, parse_response
from lms.spaced_review.models import BOX_INTERVAL_DAYS, LEARNED_BOX, ReviewCard

# Quizzes whose missed questions become cards (recertification quizzes do not: decision 0015).
REVIEWED_ROLES = ("module", "placement")
# Question types a review cannot score on the spot: essays wait for a grader, descriptions score nothing.
UNREVIEWABLE_TYPES = ("essay", "description")
FIRST_INTERVAL = timedelta(days=BOX_INTERVAL_DAYS[1])
SESSION_SIZE = 10


class MalformedAnswer(DomainError):
    """The form did not carry an answer the question can be scored with; the question is shown again."""

    status_code = 422


class NotDueYet(Conflict):
    pass


class CardNotFound(NotFound):
    pass


NO_SUCH_CARD = "There is no such review question. It may have been removed, or it belongs to someone else."


# -- what counts --------------------------------------------------------------------------------

_LIVE = aliased(QuestionVersion, name="live")


def _active(*columns):
    """The learner's cards that can be shown (not learned, course, quiz and question live); no due filter."""
    return (select(*columns).select_from(ReviewCard)
            .join(Enrollment, and_(Enrollment.id == ReviewCard.enrollment_id,
                                   Enrollment.user_id == bindparam("user_id")))
            .join(Course, and_(Course.id == Enrollment.course_id, Course.retired_at.is_(None)))
            .join(Item, and_(Item.id == ReviewCard.quiz_item_id, Item.retired_at.is_(None),
                             Item.quiz_role.in_(REVIEWED_ROLES)))
            .join(_LIVE, and_(_LIVE.quiz_item_id == ReviewCard.quiz_item_id, _LIVE.key == ReviewCard.question_key,
                              _LIVE.retired_at.is_(None), _LIVE.type.not_in(UNREVIEWABLE_TYPES)))
            .where(ReviewCard.box < LEARNED_BOX))


_NOW = bindparam("now", type_=UTCDateTime())
_IS_DUE = ReviewCard.due_at <= _NOW
# Statements are built once at import: the dashboard runs the first on every visit.
_DUE_COUNT = _active(func.count()).where(_IS_DUE)
_DUE_BY_COURSE = _active(Enrollment.course_id, func.count()).where(_IS_DUE).group_by(Enrollment.course_id)
_SUMMARY = (_active(Course.id, Course.slug, Course.title,
                    func.count().filter(_IS_DUE).label("due"),
                    func.min(ReviewCard.due_at).filter(ReviewCard.due_at > _NOW).label("next_due"),
                    func.count().label("active"))
            .group_by(Course.id, Course.slug, Course.title).order_by(Course.title, Course.id))
_SESSION_COLUMNS = (ReviewCard.id, ReviewCard.box, ReviewCard.reviews, ReviewCard.lapses, ReviewCard.due_at,
                    _LIVE.id.label("question_id"), Course.id.label("course_id"), Course.slug.label("course_slug"),
                    Course.title.label("course_title"), Item.title.label("quiz_title"), QuizConfig.settings)
_SESSION = (_active(*_SESSION_COLUMNS).join(QuizConfig, QuizConfig.item_id == ReviewCard.quiz_item_id)
            .where(_IS_DUE).order_by(ReviewCard.due_at, ReviewCard.id).limit(bindparam("size")))
_SESSION_IN_COURSE = _SESSION.where(Enrollment.course_id == bindparam("course_id"))
_ONE_DUE = _SESSION.where(ReviewCard.id == bindparam("card_id"))


def due_count(db: Session, user_id: int, now: datetime) -> int:
    """How many review questions are due for this learner now (one statement; for the dashboard)."""
    return db.connection().execute(_DUE_COUNT, {"user_id": user_id, "now": now}).scalar_one()


# Any of the learner's cards still being learned (no check that it can be shown: an earlier time than
# the true next one only makes a cached dashboard be rendered again sooner).
_NEXT_DUE = (select(func.min(ReviewCard.due_at)).select_from(ReviewCard)
             .join(Enrollment, and_(Enrollment.id == ReviewCard.enrollment_id,
                                    Enrollment.user_id == bindparam("user_id")))
             .where(ReviewCard.box < LEARNED_BOX, ReviewCard.due_at > _NOW))


def next_due_after(db: Session, user_id: int, now: datetime) -> datetime | None:
    """The earliest time after ``now`` when one of the learner's cards falls due (one statement): until
    then the dashboard's due counts stay what they are now (lms.progress.dashboard_cache)."""
    return db.connection().execute(_NEXT_DUE, {"user_id": user_id, "now": now}).scalar_one()


def due_counts_by_course(db: Session, user_id: int, now: datetime) -> dict[int, int]:
    """Due review questions per course id; courses with none due are left out (one statement)."""
    db.flush()  # (a Core statement on the connection: an answer in progress must be seen)
    return dict(db.connection().execute(_DUE_BY_COURSE, {"user_id": user_id, "now": now}).all())


def due_count_subquery(enrollment_id_column):
    """The due review questions of one enrollment, as a correlated scalar subquery (bound ``now``), for a
    statement that reads the learner's enrollments of courses not retired (the dashboard's): the same
    cards ``_active`` counts, the enrollment's user and its course's retirement being that statement's."""
    # (The role and type conditions as comparisons rather than IN lists: a constant IN list is an
    # "expanding" parameter, which makes every execution render the statement anew.)
    return (select(func.count()).select_from(ReviewCard)
            .join(Item, and_(Item.id == ReviewCard.quiz_item_id, Item.retired_at.is_(None),
                             or_(*(Item.quiz_role == role for role in REVIEWED_ROLES))))
            .join(_LIVE, and_(_LIVE.quiz_item_id == ReviewCard.quiz_item_id, _LIVE.key == ReviewCard.question_key,
                              _LIVE.retired_at.is_(None), *(_LIVE.type != kind for kind in UNREVIEWABLE_TYPES)))
            .where(ReviewCard.enrollment_id == enrollment_id_column, ReviewCard.box < LEARNED_BOX, _IS_DUE)
            .scalar_subquery())


@dataclass(frozen=True)
class CourseReview:
    course_id: int
    slug: str
    title: str
    due: int  # due now
    next_due: datetime | None  # the earliest card not yet due
    active: int  # cards still being learned (due or not)


def review_summary(db: Session, user_id: int, now: datetime) -> list[CourseReview]:
    """Per course with cards still being learned: due now, the next due time, how many (one statement)."""
    return [CourseReview(*row) for row in db.execute(_SUMMARY, {"user_id": user_id, "now": now})]


# -- a session ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class DueCard:
    """A card to show, with the live version of its question and the option order to show it in."""

    id: int
    box: int
    reviews: int
    lapses: int
    due_at: datetime
    course_id: int
    course_slug: str
    course_title: str
    quiz_title: str
    record: quizzes.QuestionRecord
    order: Any


def option_order(card_id: int, reviews: int, record: quizzes.QuestionRecord, settings: Mapping) -> Any:
    """The options' order for this review of the card: shuffled as the quiz shuffles them, from a seed
    of the card and its review count, so a reload shows the same order and the answer maps back."""
    seed = card_id * 1_000_003 + reviews
    return quizzes.build_layout((record,), {"shuffle_options": settings.get("shuffle_options", True)},
                                seed)[0]["order"]


def next_session(db: Session, user_id: int, now: datetime, course_id: int | None = None,
                 size: int = SESSION_SIZE) -> list[DueCard]:
    """The next due cards (longest due first), in one course or all, with their questions' live versions.
    One statement, plus one for question versions this process has not parsed yet."""
    params = {"user_id": user_id, "now": now, "size": size}
    if course_id is None:
        rows = db.execute(_SESSION, params).all()
    else:
        rows = db.execute(_SESSION_IN_COURSE, {**params, "course_id": course_id}).all()
    return _due_cards(db, rows)


def due_card(db: Session, user_id: int, card_id: int, now: datetime) -> DueCard | None:
    """One of the learner's cards if it is due and can be shown (to show it again after a bad answer)."""
    return next(iter(_due_cards(db, db.execute(_ONE_DUE, {"user_id": user_id, "now": now, "size": 1,
                                                           "card_id": card_id}).all())), None)


def _due_cards(db: Session, rows) -> list[DueCard]:
    records = quizzes.question_records(db, [row.question_id for row in rows])
    return [DueCard(row.id, row.box, row.reviews, row.lapses, row.due_at, row.course_id, row.course_slug,
                    row.course_title, row.quiz_title, records[row.question_id],
                    option_order(row.id, row.reviews, records[row.question_id], row.settings or {}))
            for row in rows]


# -- answering ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewOutcome:
    """What a review answer did (or, for the request that lost a race, what the other one did)."""

    card_id: int
    course_slug: str
    course_title: str
    quiz_title: str
    record: quizzes.QuestionRecord  # the version the answer was scored with
    order: Any
    response: Any
    status: str  # correct, partial, incorrect, unanswered ("I don't know")
    fraction: float
    box: int  # after the answer
    due_at: datetime
    reviews: int
    lapses: int
    reveal: bool  # whether the quiz lets feedback and right answers be shown
    already_answered: bool = False  # this request lost to another one; this is what that one recorded

    @property
    def correct(self) -> bool:
        return self.status == "correct"

    @property
    def learned(self) -> bool:
        return self.box >= LEARNED_BOX


_CARD = (select(ReviewCard, Enrollment.user_id, Course.slug, Course.title, Course.retired_at, Item.title,
                Item.retired_at, Item.quiz_role, QuizConfig.settings, _LIVE.id, _LIVE.type)
         .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
         .join(Course, Course.id == Enrollment.course_id)
         .join(Item, Item.id == ReviewCard.quiz_item_id)
         .outerjoin(QuizConfig, QuizConfig.item_id == ReviewCard.quiz_item_id)
         .outerjoin(_LIVE, and_(_LIVE.quiz_item_id == ReviewCard.quiz_item_id, _LIVE.key == ReviewCard.question_key,
                                _LIVE.retired_at.is_(None)))
         .where(ReviewCard.id == bindparam("card_id"))
         .execution_options(populate_existing=True))  # a loser re-reads what the winner wrote


@dataclass(frozen=True)
class _Loaded:
    card: ReviewCard
    course_slug: str
    course_title: str
    quiz_title: str
    settings: dict
    live_id: int | None  # the live version to review, None when the card cannot be reviewed now


def _load(db: Session, user_id: int, card_id: int) -> _Loaded:
    row = db.execute(_CARD, {"card_id": card_id}).first()
    if row is None or row[1] != user_id:  # someone else's card is as absent as a missing one
        raise CardNotFound(NO_SUCH_CARD)
    (card, _owner, slug, title, course_retired, quiz_title, item_retired, role, settings, live_id,
     live_type) = row
    reviewable = (course_retired is None and item_retired is None and role in REVIEWED_ROLES
                  and live_id is not None and live_type not in UNREVIEWABLE_TYPES)
    return _Loaded(card, slug, title, quiz_title, settings or {}, live_id if reviewable else None)


def _reveal(settings: Mapping) -> bool:
    return settings.get("feedback", "after_submit") != "never"


def _recorded(db: Session, loaded: _Loaded, *, already_answered: bool = False) -> ReviewOutcome | None:
    """The card's last review answer as an outcome (None if it was never reviewed)."""
    card, last = loaded.card, loaded.card.last_answer
    if not last:
        return None
    record = quizzes.question_records(db, [last["question_id"]]).get(last["question_id"])
    if record is None:
        return None
    return ReviewOutcome(card.id, loaded.course_slug, loaded.course_title, loaded.quiz_title, record,
                         last.get("order"), last.get("response"), last["status"], last["fraction"], card.box,
                         card.due_at, card.reviews, card.lapses, _reveal(loaded.settings), already_answered)


def last_outcome(db: Session, user_id: int, card_id: int) -> ReviewOutcome | None:
    """The outcome of the card's last review answer (the page after answering); None if never reviewed."""
    return _recorded(db, _load(db, user_id, card_id))


def _seen_reviews(form_data: Mapping) -> int:
    raw = form_data.get("reviews", "")
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 9:
        raise MalformedAnswer("This answer form is incomplete. Answer the question again.")
    return int(raw)


def next_position(box: int, correct: bool) -> tuple[int, int]:
    """(box, days until due) after an answer: up a box when right, back to box 1 when not."""
    if not correct:
        return 1, BOX_INTERVAL_DAYS[1]
    box = min(box + 1, LEARNED_BOX)
    return box, BOX_INTERVAL_DAYS.get(box, 0)


_MOVE = (update(ReviewCard)
         .where(ReviewCard.id == bindparam("card_id"), ReviewCard.box == bindparam("seen_box"),
                ReviewCard.reviews == bindparam("seen_reviews"))
         .values(box=bindparam("new_box"), due_at=bindparam("new_due_at"), reviews=ReviewCard.reviews + 1,
                 lapses=ReviewCard.lapses + bindparam("lapse"), last_reviewed_at=bindparam("reviewed_at"),
                 last_answer=bindparam("answer"))
         .execution_options(synchronize_session=False))


def answer_card(db: Session, user_id: int, card_id: int, form_data: Mapping, now: datetime) -> ReviewOutcome:
    """Score a review answer with the question's live version and move the card, exactly once.

    ``form_data`` is the submitted form (a MultiDict: the question's fields as the quiz page names them,
    ``reviews``: the card's review count when the question was shown, ``action``: "answer" or "dont_know").
    Raises CardNotFound (missing, someone else's, or no longer reviewable), NotDueYet, MalformedAnswer.
    """
    loaded = _load(db, user_id, card_id)
    card = loaded.card
    seen = _seen_reviews(form_data)
    if seen < card.reviews:  # answered meanwhile in another tab: show what that answer recorded
        outcome = _recorded(db, loaded, already_answered=True)
        if outcome is not None:
            return outcome
    if seen != card.reviews:
        raise MalformedAnswer("This answer form is out of date. Answer the question again.")
    if loaded.live_id is None:
        raise CardNotFound("This question is no longer part of its course, so it is not reviewed any more.")
    if card.box >= LEARNED_BOX:
        raise NotDueYet("You have learned this question: it does not come back for review.")
    if card.due_at > now:
        raise NotDueYet(f"This question is not due for review until {card.due_at:%d %B %Y, %H:%M} UTC.")

    record = quizzes.question_records(db, [loaded.live_id])[loaded.live_id]
    order = option_order(card.id, card.reviews, record, loaded.settings)
    if form_data.get("action") == "dont_know":
        response, status, fraction = None, "unanswered", 0.0
    else:
        response = parse_response(record.question, record.id, order, form_data)
        result = score(record.question, None if response is UNSET else response)
        if result.status == "unanswered":  # nothing chosen, or a shape the question cannot take
            raise MalformedAnswer("Choose or type an answer first, or choose “I don't know” to see the answer.")
        status, fraction = result.status, result.fraction
    correct = status == "correct"
    box, days = next_position(card.box, correct)
    due_at = now + timedelta(days=days)
    answer = {"question_id": record.id, "order": order, "response": response, "status": status,
              "fraction": fraction}
    moved = db.execute(_MOVE, {"card_id": card.id, "seen_box": card.box, "seen_reviews": card.reviews,
                               "new_box": box, "new_due_at": due_at, "lapse": 0 if correct else 1,
                               "reviewed_at": now, "answer": answer}).rowcount == 1
    if not moved:  # another request moved it between our read and our update: answer with its result
        outcome = _recorded(db, _load(db, user_id, card_id), already_answered=True)
        if outcome is None:
            raise Conflict("This question changed while you answered it. Answer it again.")
        return outcome
    return ReviewOutcome(card.id, loaded.course_slug, loaded.course_title, loaded.quiz_title, record, order,
                         response, status, fraction, box, due_at, card.reviews + 1,
                         card.lapses + (0 if correct else 1), _reveal(loaded.settings))
