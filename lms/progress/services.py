"""What the dashboard shows: each enrollment's progress and next step, in a constant number of
queries however many courses the learner takes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import String, bindparam, cast, func, literal_column, select
from sqlalchemy.orm import Session

from lms.capstones import services as capstones
from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outlines
from lms.credentials.eligibility import EnrolledCourse
from lms.db import joined_strings, truncated, utc_date_text, utcnow
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.quizzes.models import QuizAttempt
from lms.spaced_review import services as spaced_review


@dataclass(frozen=True)
class CourseCard:
    course_id: int
    enrollment_id: int
    course_slug: str
    course_title: str
    track: str
    enrolled_on: date  # the day of the enrollment, in UTC
    outline: Outline
    progress: enrollments.Progress
    # What the credential's blockers are read from: the items completed by passing them, the state of
    # the latest capstone version.
    passed_ids: set[int]
    capstone_state: str | None
    tested_out_ids: frozenset[int] = frozenset()
    review_due: int = 0  # review questions due now in this course
    best_scores: dict[int, int] = field(default_factory=dict)  # quiz item id -> best submitted score, in %


# Built once: composing the statement would cost more than running it. Each enrollment's completions
# come as one aggregated column of item ids, each followed by how it was completed ("12r,15p,17t": read,
# passed, tested out; the how is unique per item, see ItemCompletion): one correlated lookup per row
# instead of one for each of the three sets the card needs.
_COMPLETIONS = (select(joined_strings(cast(ItemCompletion.item_id, String) + func.substr(ItemCompletion.how, 1, 1)))
                .where(ItemCompletion.enrollment_id == Enrollment.id).scalar_subquery())
# Each submitted attempt's score in whole percent, truncated as int() does ("31:100,31:0,40:75": quiz item
# id and score), for the best of each quiz (truncating the best is taking the best truncated). The state
# is written into the SQL, not bound: quiz_attempts has a partial index on state = 'open', and SQLite
# prepares a statement again on every execution when a bound value could decide whether such an index
# applies (that doubled the cost of this lookup).
_SCORES = (select(joined_strings(
    cast(QuizAttempt.quiz_item_id, String) + ":"
    + cast(truncated(QuizAttempt.points_earned * 100.0 / QuizAttempt.points_possible), String)))
    .where(QuizAttempt.enrollment_id == Enrollment.id, QuizAttempt.state == literal_column("'submitted'"),
           QuizAttempt.points_possible > 0)
    .scalar_subquery())
# No column here needs converting: the enrollment's day comes as text, the statement renders nothing at
# execution (no expanding IN lists or post-compile literals), so a request runs it as built.
_DASHBOARD_QUERY = (
    select(Enrollment.id, Enrollment.track, Enrollment.last_item_id, utc_date_text(Enrollment.enrolled_at),
           Course.id, Course.slug, Course.title, Course.content_hash,
           _COMPLETIONS, capstones.latest_state_subquery(Enrollment.id),
           spaced_review.due_count_subquery(Enrollment.id), _SCORES)
    .join(Course, Course.id == Enrollment.course_id)
    .where(Enrollment.user_id == bindparam("user_id"), Course.retired_at.is_(None))
    .order_by(Enrollment.last_activity_at.desc(), Enrollment.id.desc())
)


def _parse_completions(aggregated: str | None) -> tuple[set[int], set[int], frozenset[int]]:
    """The completed, passed and tested-out item ids from ``_COMPLETIONS``'s column."""
    if not aggregated:
        return set(), set(), frozenset()
    entries = aggregated.split(",")
    done = {int(entry[:-1]) for entry in entries}
    passed: set[int] = set()
    tested_out: set[int] = set()
    if "p" in aggregated or "t" in aggregated:  # (most completions are reads)
        for entry in entries:
            how = entry[-1]
            if how == "p":
                passed.add(int(entry[:-1]))
            elif how == "t":
                tested_out.add(int(entry[:-1]))
    return done, passed, frozenset(tested_out)


def _parse_scores(aggregated: str | None) -> dict[int, int]:
    """Quiz item id -> the best of ``_SCORES``'s scores."""
    best: dict[int, int] = {}
    if aggregated:
        for entry in aggregated.split(","):
            quiz_id, _, percent = entry.partition(":")
            item_id, score = int(quiz_id), int(percent)
            if item_id not in best or score > best[item_id]:
                best[item_id] = score
    return best


# "2026-12-07" -> its date, per process (a few thousand days at most; a full memory starts over).
_days: dict[str, date] = {}


def _day(text: str) -> date:
    day = _days.get(text)
    if day is None:
        if len(_days) >= 10_000:
            _days.clear()
        day = _days[text] = date.fromisoformat(text)
    return day


def learner_dashboard(db: Session, user_id: int, now: datetime | None = None) -> list[CourseCard]:
    """The learner's courses, most recently active first.

    One statement however many courses (two more on a cold outline cache): each enrollment row
    carries its completed item ids, each with how it was completed, as one aggregated string
    (group_concat / string_agg), the latest capstone version's state (what the credential's
    blockers need, with the passed ones), how many review questions are due at ``now`` and each
    submitted quiz attempt's score.
    """
    rows = db.connection().execute(_DASHBOARD_QUERY, {"user_id": user_id, "now": now or utcnow()}).all()
    outlines = get_outlines(db, [(row[4], row[7]) for row in rows])
    summarize = enrollments.summarize
    cards = []
    for (enrollment_id, track, last_item_id, enrolled_on, course_id, slug, title, _hash, completions,
         capstone_state, review_due, scores) in rows:
        outline = outlines[course_id]
        done, passed, tested_out = _parse_completions(completions)
        cards.append(CourseCard(course_id, enrollment_id, slug, title, track, _day(enrolled_on), outline,
                                summarize(outline, done, last_item_id), passed, capstone_state,
                                tested_out, review_due, _parse_scores(scores)))
    return cards


def credential_facts(card: CourseCard) -> EnrolledCourse:
    """What eligibility needs of a card, all read already (lms.credentials.eligibility.blockers_of_enrolled)."""
    capstone = card.outline.capstone
    return EnrolledCourse(card.course_id, card.outline.content_hash, card.enrollment_id, card.track,
                          card.passed_ids, card.outline.quizzes_by_ref,
                          (capstone.id if capstone else None, card.capstone_state), card.tested_out_ids)
