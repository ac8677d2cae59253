"""What the dashboard shows: each enrollment's progress and next step, in a constant number of
queries however many courses the learner takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, bindparam, cast, func, select
from sqlalchemy.orm import Session

from lms.capstones import services as capstones
from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outlines
from lms.credentials.eligibility import EnrolledCourse
from lms.db import utcnow
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
    enrolled_at: datetime
    last_activity_at: datetime
    outline: Outline
    progress: enrollments.Progress
    # What the credential's blockers are read from: the items completed by passing them, the state of
    # the latest capstone version.
    passed_ids: set[int]
    capstone_state: str | None
    tested_out_ids: frozenset[int] = frozenset()
    review_due: int = 0  # review questions due now in this course


# Built once: composing the statement would cost more than running it. Each enrollment's completions
# come as one aggregated column of item ids, each followed by how it was completed ("12r,15p,17t": read,
# passed, tested out; the how is unique per item, see ItemCompletion): one correlated lookup per row
# instead of one for each of the three sets the card needs.
_COMPLETIONS = (select(func.aggregate_strings(cast(ItemCompletion.item_id, String)
                                              + func.substr(ItemCompletion.how, 1, 1), ","))
                .where(ItemCompletion.enrollment_id == Enrollment.id).scalar_subquery())
_DASHBOARD_QUERY = (
    select(Enrollment.id, Enrollment.track, Enrollment.last_item_id, Enrollment.enrolled_at,
           Enrollment.last_activity_at, Course.id, Course.slug, Course.title, Course.content_hash,
           _COMPLETIONS, capstones.latest_state_subquery(Enrollment.id),
           spaced_review.due_count_subquery(Enrollment.id))
    .join(Course, Course.id == Enrollment.course_id)
    .where(Enrollment.user_id == bindparam("user_id"), Course.retired_at.is_(None))
    .order_by(Enrollment.last_activity_at.desc(), Enrollment.id.desc())
)


def _parse_completions(aggregated: str | None) -> tuple[set[int], set[int], frozenset[int]]:
    """The completed, passed and tested-out item ids from ``_COMPLETIONS``'s column."""
    done: set[int] = set()
    passed: set[int] = set()
    tested_out: set[int] = set()
    if aggregated:
        for entry in aggregated.split(","):
            item_id = int(entry[:-1])
            done.add(item_id)
            how = entry[-1]
            if how == "p":
                passed.add(item_id)
            elif how == "t":
                tested_out.add(item_id)
    return done, passed, frozenset(tested_out)


def learner_dashboard(db: Session, user_id: int, now: datetime | None = None) -> list[CourseCard]:
    """The learner's courses, most recently active first.

    One statement however many courses (two more on a cold outline cache): each enrollment row
    carries its completed item ids, each with how it was completed, as one aggregated string
    (group_concat / string_agg), the latest capstone version's state (what the credential's
    blockers need, with the passed ones) and how many review questions are due at ``now``.
    """
    rows = db.connection().execute(_DASHBOARD_QUERY, {"user_id": user_id, "now": now or utcnow()}).all()
    outlines = get_outlines(db, [(row[5], row[8]) for row in rows])
    cards = []
    for (enrollment_id, track, last_item_id, enrolled_at, active_at, course_id, slug, title, _hash, completions,
         capstone_state, review_due) in rows:
        outline = outlines[course_id]
        done, passed, tested_out = _parse_completions(completions)
        cards.append(CourseCard(course_id, enrollment_id, slug, title, track, enrolled_at, active_at, outline,
                                enrollments.summarize(outline, done, last_item_id), passed, capstone_state,
                                tested_out, review_due))
    return cards


# The learner's attempts by a join on their enrollments (a bound user id), not an IN list of the cards'
# enrollment ids: an expanding IN is rebuilt on every execution. Scores of enrollments without a card
# (a retired course) are read and never looked up.
_BEST_SCORES = (
    select(QuizAttempt.enrollment_id, QuizAttempt.quiz_item_id,
           func.max(QuizAttempt.points_earned * 100.0 / QuizAttempt.points_possible))
    .join(Enrollment, Enrollment.id == QuizAttempt.enrollment_id)
    .where(Enrollment.user_id == bindparam("user_id"), QuizAttempt.state == "submitted",
           QuizAttempt.points_possible > 0)
    .group_by(QuizAttempt.enrollment_id, QuizAttempt.quiz_item_id)
)


def best_quiz_scores(db: Session, user_id: int) -> dict[int, dict[int, int]]:
    """Per enrollment of the learner: each quiz's best submitted score in whole percent (floor), in one
    statement."""
    scores: dict[int, dict[int, int]] = {}
    for enrollment_id, item_id, percent in db.connection().execute(_BEST_SCORES, {"user_id": user_id}):
        if percent is not None:
            scores.setdefault(enrollment_id, {})[item_id] = int(percent)
    return scores


def credential_facts(card: CourseCard) -> EnrolledCourse:
    """What eligibility needs of a card, all read already (lms.credentials.eligibility.blockers_of_enrolled)."""
    capstone = card.outline.capstone
    return EnrolledCourse(card.course_id, card.outline.content_hash, card.enrollment_id, card.track,
                          card.passed_ids, card.outline.quizzes_by_ref,
                          (capstone.id if capstone else None, card.capstone_state), card.tested_out_ids)
