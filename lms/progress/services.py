"""What the dashboard shows: each enrollment's progress and next step, in a constant number of
queries however many courses the learner takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from lms.capstones import services as capstones
from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outlines
from lms.credentials.eligibility import EnrolledCourse
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment
from lms.quizzes.models import QuizAttempt


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


# Built once: composing the statement would cost more than running it.
_DASHBOARD_QUERY = (
    select(Enrollment.id, Enrollment.track, Enrollment.last_item_id, Enrollment.enrolled_at,
           Enrollment.last_activity_at, Course.id, Course.slug, Course.title, Course.content_hash,
           enrollments.completed_ids_subquery(Enrollment.id),
           enrollments.completed_ids_subquery(Enrollment.id, how="passed"),
           capstones.latest_state_subquery(Enrollment.id),
           enrollments.completed_ids_subquery(Enrollment.id, how="tested_out"))
    .join(Course, Course.id == Enrollment.course_id)
    .where(Enrollment.user_id == bindparam("user_id"), Course.retired_at.is_(None))
    .order_by(Enrollment.last_activity_at.desc(), Enrollment.id.desc())
)


def learner_dashboard(db: Session, user_id: int) -> list[CourseCard]:
    """The learner's courses, most recently active first.

    One statement however many courses (two more on a cold outline cache): each enrollment row
    carries its completed item ids as one aggregated string (group_concat / string_agg), and what the
    credential's blockers need (the passed ones, the latest capstone version's state).
    """
    rows = db.connection().execute(_DASHBOARD_QUERY, {"user_id": user_id}).all()
    outlines = get_outlines(db, [(row[5], row[8]) for row in rows])
    cards = []
    for (enrollment_id, track, last_item_id, enrolled_at, active_at, course_id, slug, title, _hash, done_list,
         passed_list, capstone_state, tested_out_list) in rows:
        outline = outlines[course_id]
        done = enrollments.parse_completed_ids(done_list)
        cards.append(CourseCard(course_id, enrollment_id, slug, title, track, enrolled_at, active_at, outline,
                                enrollments.summarize(outline, done, last_item_id),
                                enrollments.parse_completed_ids(passed_list), capstone_state,
                                frozenset(enrollments.parse_completed_ids(tested_out_list))))
    return cards


_BEST_SCORES = (
    select(QuizAttempt.enrollment_id, QuizAttempt.quiz_item_id,
           func.max(QuizAttempt.points_earned * 100.0 / QuizAttempt.points_possible))
    .where(QuizAttempt.enrollment_id.in_(bindparam("enrollment_ids", expanding=True)),
           QuizAttempt.state == "submitted", QuizAttempt.points_possible > 0)
    .group_by(QuizAttempt.enrollment_id, QuizAttempt.quiz_item_id)
)


def best_quiz_scores(db: Session, enrollment_ids: list[int]) -> dict[int, dict[int, int]]:
    """Per enrollment: each quiz's best submitted score in whole percent (floor), in one statement."""
    scores: dict[int, dict[int, int]] = {}
    if enrollment_ids:
        for enrollment_id, item_id, percent in db.connection().execute(_BEST_SCORES,
                                                                       {"enrollment_ids": enrollment_ids}):
            if percent is not None:
                scores.setdefault(enrollment_id, {})[item_id] = int(percent)
    return scores


def credential_facts(card: CourseCard) -> EnrolledCourse:
    """What eligibility needs of a card, all read already (lms.credentials.eligibility.blockers_of_enrolled)."""
    capstone = card.outline.capstone
    return EnrolledCourse(card.course_id, card.outline.content_hash, card.enrollment_id, card.track,
                          card.passed_ids, card.outline.quizzes_by_ref,
                          (capstone.id if capstone else None, card.capstone_state), card.tested_out_ids)
