"""Course reviews: who may review a course, saving and deleting a review with the course's rating
summary kept in step, instructors' replies, and what the pages read.

The catalog shows each course's average from two columns of ``courses`` (``rating_count``,
``rating_total``). Every change here that adds, removes or re-rates a review moves them in the same
transaction with a relative UPDATE (``rating_total = rating_total + :delta``), so concurrent reviews
never lose a count and the catalog needs no aggregate; ``reconcile_summaries`` repairs them if
anything ever wrote reviews past these functions.

Dependencies point one way: this package reads catalog (outlines) and enrollments (completions);
neither knows about reviews.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from lms.audit import services as audit
from lms.auth.models import CourseRole, User
from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outline
from lms.course_reviews.models import CourseReview
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.enrollments.services import completed_ids_subquery, parse_completed_ids
from lms.errors import Conflict, DomainError, Forbidden, NotFound
from lms.markup import render_markdown
from lms.notifications.services import Kind, notify, register_kind

MAX_BODY = 2000  # characters of Markdown, as written (line breaks count one)
MAX_REPLY = 2000
PAGE_SIZE = 10
RECENT_ON_COURSE_PAGE = 3
RATINGS = (1, 2, 3, 4, 5)
RATING_WORDS = {1: "poor", 5: "excellent"}
REPLY_KIND = "course_review_reply"

register_kind(REPLY_KIND, Kind("When an instructor replies to my course review", email_default=True,
                               audience="learner"))


# -- failures ---------------------------------------------------------------------------------------

class ReviewError(DomainError):
    status_code = 400


class InvalidReview(ReviewError):
    """What was typed into the form is not acceptable: ``errors`` maps each input ("rating", "body",
    "reply") to what is wrong with it, so the form can show every problem next to its input at once."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


class NotEligible(ReviewError):
    """This person may not review this course (yet): the message says why and what to do."""

    status_code = 403


class NotCourseInstructor(Forbidden):
    pass


class ReviewNotFound(NotFound):
    pass


# -- who may review ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Completion:
    """How far a learner is through what their track asks for (the steps a review needs done)."""

    enrolled: bool
    track: str | None
    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.enrolled and self.done >= self.total

    @property
    def message(self) -> str | None:
        """Why this learner cannot review yet, or None when they can."""
        if not self.enrolled:
            return ("Only learners who have completed this course can review it, and you are not enrolled. "
                    "Enroll, work through the course, and then tell others what you thought.")
        if not self.complete:
            return f"Complete the course to review it: {self.done} of {self.total} steps done."
        return None


def required_steps(outline: Outline, track: str | None) -> tuple:
    """The steps a learner must have completed to review: every current step of the course (lessons,
    module quizzes, the capstone), except the capstone on the audit track, which promises "all
    lessons and quizzes" and never grades the capstone."""
    if track == "audit":
        return tuple(step for step in outline.steps if step.kind != "capstone")
    return outline.steps


def completion_of(outline: Outline, track: str | None, done_ids: set[int], enrolled: bool = True) -> Completion:
    steps = required_steps(outline, track)
    return Completion(enrolled, track, sum(1 for step in steps if step.id in done_ids), len(steps))


_ENROLLMENT_QUERY = (
    select(Enrollment.track, completed_ids_subquery(Enrollment.id))
    .where(Enrollment.user_id == bindparam("user_id"), Enrollment.course_id == bindparam("course_id"))
)


def learner_completion(db: Session, user_id: int, course: Course) -> Completion:
    """The learner's completion of the course in one statement (the outline comes from its cache)."""
    outline = get_outline(db, course)
    row = db.connection().execute(_ENROLLMENT_QUERY, {"user_id": user_id, "course_id": course.id}).first()
    if row is None:
        return completion_of(outline, None, set(), enrolled=False)
    return completion_of(outline, row[0], parse_completed_ids(row[1]))


def _is_staff_of(db: Session, user_id: int, course_id: int) -> bool:
    return bool(db.scalar(select(exists().where(CourseRole.user_id == user_id, CourseRole.course_id == course_id))))


def check_may_review(db: Session, user_id: int, course: Course) -> Completion:
    """Raise NotEligible unless the user may write a first review of the course: they completed it
    (see ``required_steps``) and are not on its staff (no one reviews their own course)."""
    if _is_staff_of(db, user_id, course.id):
        raise NotEligible("Course staff cannot review their own course; reply to learners' reviews instead.")
    completion = learner_completion(db, user_id, course)
    if completion.message is not None:
        raise NotEligible(completion.message)
    return completion


# -- what people type -----------------------------------------------------------------------------

RATING_RANGE = "from 1 (poor) to 5 (excellent)"


def clean_rating(value: object) -> int:
    """The rating as typed or chosen (a form sends text): a whole number 1-5, else InvalidReview."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise InvalidReview({"rating": f"Choose a rating {RATING_RANGE}."})
    if not (text.isascii() and text.isdigit()) or int(text) not in RATINGS:
        raise InvalidReview({"rating": f"A rating is a whole number {RATING_RANGE}; choose one of the five."})
    return int(text)


def _clean_text(value: str | None, limit: int, field: str, what: str) -> str:
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit:
        raise InvalidReview({field: f"{what} is {len(text):,} characters long; the limit is {limit:,}. Shorten it "
                                    f"by {len(text) - limit:,} characters."})
    return text


def clean_body(value: str | None) -> str:
    return _clean_text(value, MAX_BODY, "body", "Your review")


def clean_review(rating: object, body: str | None) -> tuple[int, str]:
    """Both inputs checked, every problem reported together (InvalidReview)."""
    errors: dict[str, str] = {}
    cleaned = []
    for clean, value in ((clean_rating, rating), (clean_body, body)):
        try:
            cleaned.append(clean(value))
        except InvalidReview as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidReview(errors)
    return cleaned[0], cleaned[1]


def _render(text: str) -> str:
    # Rendered once, here; pages show the stored HTML. ``embedded``: headings sit below the page's own.
    return render_markdown(text, embedded=True).html if text else ""


# -- saving and deleting a review -----------------------------------------------------------------

@dataclass(frozen=True)
class SavedReview:
    review: CourseReview
    created: bool
    changed: bool  # False: the same rating and text were sent again


def own_review(db: Session, user_id: int, course_id: int) -> CourseReview | None:
    return db.scalar(select(CourseReview).where(CourseReview.course_id == course_id, CourseReview.user_id == user_id))


def _shift_summary(db: Session, course: Course, count: int, total: int) -> None:
    """Move the course's rating summary by a relative amount (never read, changed and written back)."""
    if count == 0 and total == 0:
        return
    db.execute(update(Course).where(Course.id == course.id)
               .values(rating_count=Course.rating_count + count, rating_total=Course.rating_total + total)
               .execution_options(synchronize_session=False))
    if course in db:
        db.expire(course, ["rating_count", "rating_total"])  # (read again from the row if asked for)


def save_review(db: Session, user_id: int, course: Course, rating: object, body: str | None,
                now: datetime | None = None) -> SavedReview:
    """Create the learner's review of the course, or update it: one review per learner and course.

    A first review needs the course completed (``check_may_review``); editing one's own review does
    not ask again (a course that grew a lesson since does not lock its reviewers out). Two first
    saves racing each other end as one review: the loser's insert hits the unique constraint, and it
    updates the winner's row instead. The rating summary moves in the same transaction.
    """
    rating, body = clean_review(rating, body)
    now = now or utcnow()
    existing = own_review(db, user_id, course.id)
    if existing is None:
        check_may_review(db, user_id, course)
        review = CourseReview(course_id=course.id, user_id=user_id, rating=rating, body=body, body_html=_render(body),
                              created_at=now, updated_at=now)
        try:
            with db.begin_nested():
                db.add(review)
                db.flush()
        except IntegrityError:  # a concurrent first save of the same learner won: edit that one
            existing = own_review(db, user_id, course.id)
            if existing is None:
                raise
        else:
            _shift_summary(db, course, 1, rating)
            return SavedReview(review, created=True, changed=True)
    return _update(db, course, existing, rating, body, now)


def _update(db: Session, course: Course, review: CourseReview, rating: int, body: str, now: datetime) -> SavedReview:
    for _attempt in range(5):
        old_rating = review.rating
        if old_rating == rating and review.body == body:
            return SavedReview(review, created=False, changed=False)
        html = _render(body)
        # Conditional on the rating read: a concurrent edit of the same review (two tabs) that changed
        # it first makes this match nothing, and we read again, so the summary's delta is always right.
        result = db.execute(update(CourseReview)
                            .where(CourseReview.id == review.id, CourseReview.rating == old_rating)
                            .values(rating=rating, body=body, body_html=html, updated_at=now)
                            .execution_options(synchronize_session=False))
        if result.rowcount == 1:
            for name, value in (("rating", rating), ("body", body), ("body_html", html), ("updated_at", now)):
                set_committed_value(review, name, value)
            _shift_summary(db, course, 0, rating - old_rating)
            return SavedReview(review, created=False, changed=True)
        current = db.execute(select(CourseReview.rating).where(CourseReview.id == review.id)).first()
        if current is None:
            break
        set_committed_value(review, "rating", current[0])
    raise Conflict("Your review was deleted or changed elsewhere while you were editing it. Reload the page and "
                   "write it again.")


def delete_review(db: Session, user_id: int, course: Course) -> None:
    """Delete the learner's own review of the course (its reply goes with it); the summary follows."""
    row = db.execute(delete(CourseReview)
                     .where(CourseReview.course_id == course.id, CourseReview.user_id == user_id)
                     .returning(CourseReview.rating)
                     .execution_options(synchronize_session=False)).first()
    if row is None:
        raise ReviewNotFound("You have no review of this course to delete.")
    _shift_summary(db, course, -1, -row[0])


def delete_reviews_of_user(db: Session, user_id: int) -> int:
    """Delete every review a user wrote, keeping each course's summary right. For closing an account:
    the foreign key's ON DELETE CASCADE would remove the rows but leave the summaries counting them,
    so account erasure must call this first. Returns how many reviews were deleted."""
    rows = db.execute(delete(CourseReview).where(CourseReview.user_id == user_id)
                      .returning(CourseReview.course_id, CourseReview.rating)
                      .execution_options(synchronize_session=False)).all()
    for course_id, rating in rows:  # (one per course: a learner has at most one review of each)
        db.execute(update(Course).where(Course.id == course_id)
                   .values(rating_count=Course.rating_count - 1, rating_total=Course.rating_total - rating)
                   .execution_options(synchronize_session=False))
    return len(rows)


# -- replies ----------------------------------------------------------------------------------------

def _review_for_staff(db: Session, user_id: int, review_id: int, course_id: int | None) -> CourseReview:
    review = db.get(CourseReview, review_id)
    if review is None or (course_id is not None and review.course_id != course_id):
        raise ReviewNotFound("There is no such review of this course. It may have been deleted by its author.")
    allowed = db.execute(select(User.is_admin, exists().where(
        CourseRole.user_id == User.id, CourseRole.course_id == review.course_id, CourseRole.role == "instructor"))
        .where(User.id == user_id)).first()
    if allowed is None or not (allowed[0] or allowed[1]):
        raise NotCourseInstructor("Only the course's instructors can reply to its reviews.")
    return review


def reply(db: Session, instructor_user_id: int, review_id: int, text: str | None, now: datetime | None = None, *,
          course_id: int | None = None) -> CourseReview:
    """Write or edit the reply to a review, as an instructor of its course (or an admin).

    ``course_id``, when given, is the course of the page the reply came from: a review of another
    course is NotFound. The first reply notifies the reviewer; edits do not.
    """
    review = _review_for_staff(db, instructor_user_id, review_id, course_id)
    text = _clean_text(text, MAX_REPLY, "reply", "The reply")
    if not text:
        raise InvalidReview({"reply": "Write a reply first (to take a reply down, use “Remove the reply”)."})
    first = review.reply is None
    review.reply, review.reply_html = text, _render(text)
    review.replied_by_id, review.replied_at = instructor_user_id, now or utcnow()
    audit.record(db, "course_review.reply" if first else "course_review.reply_edited", "course_review",
                          review.id, instructor_user_id, course_id=review.course_id)
    if first:
        course = db.execute(select(Course.slug, Course.title).where(Course.id == review.course_id)).one()
        notify(db, review.user_id, REPLY_KIND, f"A reply to your review of {course.title}",
               f"The course team replied to your review of {course.title}:\n\n{text}",
               link=f"/courses/{course.slug}/reviews#your-review")
    return review


def remove_reply(db: Session, user_id: int, review_id: int, *, course_id: int | None = None) -> CourseReview:
    """Remove the reply to a review (instructors of its course, admins); a review without one is NotFound."""
    review = _review_for_staff(db, user_id, review_id, course_id)
    if review.reply is None:
        raise ReviewNotFound("This review has no reply to remove.")
    review.reply = review.reply_html = review.replied_at = review.replied_by_id = None
    audit.record(db, "course_review.reply_removed", "course_review", review.id, user_id,
                          course_id=review.course_id)
    return review


# -- reading ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RatingSummary:
    count: int
    total: int

    @property
    def average(self) -> Decimal | None:
        """One decimal, halves rounded up (4.65 -> 4.7), as people expect."""
        if not self.count:
            return None
        return (Decimal(self.total) / Decimal(self.count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def text(self) -> str:
        """"Rated 4.6 out of 5 from 23 reviews", or "No reviews yet"."""
        if not self.count:
            return "No reviews yet"
        return f"Rated {self.average} out of 5 from {self.count} review{'' if self.count == 1 else 's'}"


def summary_of(course: Course) -> RatingSummary:
    """The course's summary from its own columns: no statement."""
    return RatingSummary(course.rating_count or 0, course.rating_total or 0)


def display_name(name: str | None, deleted: bool = False) -> str:
    """How a reviewer is named in public: first name and last initial ("Ada L."), never the full
    name or the email. A closed account shows as "A former learner"."""
    words = (name or "").split()
    if deleted or not words:
        return "A former learner"
    first = words[0][:40]
    return first if len(words) == 1 else f"{first} {words[-1][0].upper()}."


@dataclass(frozen=True)
class ReviewCard:
    """A review as the pages show it (stored HTML, public names)."""

    id: int
    user_id: int
    rating: int
    body: str
    body_html: str
    created_at: datetime
    updated_at: datetime
    reviewer: str
    reply: str | None
    reply_html: str | None
    replied_at: datetime | None
    replier: str | None

    @property
    def edited(self) -> bool:
        return self.updated_at - self.created_at > timedelta(minutes=1)


_Replier = aliased(User, name="replier")
_CARD_COLUMNS = (CourseReview.id, CourseReview.user_id, CourseReview.rating, CourseReview.body, CourseReview.body_html,
                 CourseReview.created_at, CourseReview.updated_at, User.name, User.deleted_at, CourseReview.reply,
                 CourseReview.reply_html, CourseReview.replied_at, _Replier.name, CourseReview.replied_by_id)


def _cards_query():
    return (select(*_CARD_COLUMNS).join(User, User.id == CourseReview.user_id)
            .outerjoin(_Replier, _Replier.id == CourseReview.replied_by_id))


def _card(row) -> ReviewCard:
    (review_id, user_id, rating, body, body_html, created_at, updated_at, name, deleted_at, reply_text, reply_html,
     replied_at, replier_name, replied_by_id) = row
    replier = None
    if reply_text is not None:
        replier = display_name(replier_name) if replied_by_id is not None else "The course team"
    return ReviewCard(review_id, user_id, rating, body, body_html, created_at, updated_at,
                      display_name(name, deleted_at is not None), reply_text, reply_html, replied_at, replier)


@dataclass(frozen=True)
class ReviewPage:
    items: list[ReviewCard]
    next_before: int | None  # the keyset of the next (older) page, None on the last


def course_reviews_page(db: Session, course_id: int, before: int | None = None, limit: int = PAGE_SIZE) -> ReviewPage:
    """A course's reviews, newest first, one page with the reviewers' public names: one statement.
    ``before`` is the id the previous page ended at (keyset: a page costs the same however far back)."""
    query = _cards_query().where(CourseReview.course_id == course_id)
    if before is not None:
        query = query.where(CourseReview.id < before)
    rows = db.execute(query.order_by(CourseReview.id.desc()).limit(limit + 1)).all()
    cards = [_card(row) for row in rows[:limit]]
    return ReviewPage(cards, cards[-1].id if len(rows) > limit else None)


def own_review_card(db: Session, user_id: int, course_id: int) -> ReviewCard | None:
    row = db.execute(_cards_query().where(CourseReview.course_id == course_id, CourseReview.user_id == user_id)).first()
    return None if row is None else _card(row)


def rating_distribution(db: Session, course_id: int) -> dict[int, int]:
    """How many reviews gave each rating, 5 down to 1 (every rating present, zeros included)."""
    counts = dict(db.execute(select(CourseReview.rating, func.count()).where(CourseReview.course_id == course_id)
                             .group_by(CourseReview.rating)).all())
    return {rating: counts.get(rating, 0) for rating in reversed(RATINGS)}


@dataclass(frozen=True)
class CourseSection:
    """What the course page's reviews section shows."""

    summary: RatingSummary
    recent: list[ReviewCard]  # the newest few by other people
    own: ReviewCard | None
    completion: Completion | None  # for a logged-in visitor without a review (None otherwise)
    is_staff: bool


def course_section(db: Session, course: Course, viewer_id: int | None) -> CourseSection:
    """The newest reviews by others and the viewer's own, in one statement; the viewer's completion in one
    more when they have not reviewed yet."""
    latest = (select(CourseReview.id).where(CourseReview.course_id == course.id)
              .order_by(CourseReview.id.desc()).limit(RECENT_ON_COURSE_PAGE))
    if viewer_id is None:
        wanted = CourseReview.id.in_(latest.scalar_subquery())
    else:
        latest = latest.where(CourseReview.user_id != viewer_id)
        wanted = or_(CourseReview.id.in_(latest.scalar_subquery()), CourseReview.user_id == viewer_id)
    rows = db.execute(_cards_query().where(and_(CourseReview.course_id == course.id, wanted))
                      .order_by(CourseReview.id.desc())).all()
    cards = [_card(row) for row in rows]
    own = next((card for card in cards if card.user_id == viewer_id), None)
    recent = [card for card in cards if card.user_id != viewer_id]
    completion, is_staff = None, False
    if viewer_id is not None and own is None:
        is_staff = _is_staff_of(db, viewer_id, course.id)
        if not is_staff:
            completion = learner_completion(db, viewer_id, course)
    return CourseSection(summary_of(course), recent, own, completion, is_staff)


# -- keeping the summary honest ------------------------------------------------------------------

def reconcile_summaries(db: Session) -> list[tuple[str, int, int, int, int]]:
    """Set every course's rating summary to the live COUNT/SUM of its reviews where they differ (after
    reviews were written past these services, e.g. by hand in SQL). Returns (slug, old count, old
    total, new count, new total) of each course corrected."""
    live = (select(CourseReview.course_id, func.count().label("n"), func.sum(CourseReview.rating).label("total"))
            .group_by(CourseReview.course_id).subquery())
    count, total = func.coalesce(live.c.n, 0), func.coalesce(live.c.total, 0)
    rows = db.execute(select(Course.id, Course.slug, Course.rating_count, Course.rating_total, count, total)
                      .outerjoin(live, live.c.course_id == Course.id)
                      .where(or_(Course.rating_count != count, Course.rating_total != total))).all()
    for course_id, _slug, _old_n, _old_total, new_n, new_total in rows:
        db.execute(update(Course).where(Course.id == course_id).values(rating_count=new_n, rating_total=new_total)
                   .execution_options(synchronize_session=False))
    return [(slug, old_n, old_total, new_n, new_total) for _id, slug, old_n, old_total, new_n, new_total in rows]
