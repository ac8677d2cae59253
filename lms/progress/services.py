"""What the dashboard shows: each enrollment's progress and next step, in a constant number of
queries however many courses the learner takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outlines
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment


@dataclass(frozen=True)
class CourseCard:
    course_id: int
    course_slug: str
    course_title: str
    track: str
    enrolled_at: datetime
    last_activity_at: datetime
    outline: Outline
    progress: enrollments.Progress


# Built once: composing the statement would cost more than running it.
_DASHBOARD_QUERY = (
    select(Enrollment.track, Enrollment.last_item_id, Enrollment.enrolled_at, Enrollment.last_activity_at,
           Course.id, Course.slug, Course.title, Course.content_hash,
           enrollments.completed_ids_subquery(Enrollment.id))
    .join(Course, Course.id == Enrollment.course_id)
    .where(Enrollment.user_id == bindparam("user_id"), Course.retired_at.is_(None))
    .order_by(Enrollment.last_activity_at.desc(), Enrollment.id.desc())
)


def learner_dashboard(db: Session, user_id: int) -> list[CourseCard]:
    """The learner's courses, most recently active first.

    One statement however many courses (two more on a cold outline cache): each enrollment row
    carries its completed item ids as one aggregated string (group_concat / string_agg).
    """
    rows = db.connection().execute(_DASHBOARD_QUERY, {"user_id": user_id}).all()
    outlines = get_outlines(db, [(row[4], row[7]) for row in rows])
    cards = []
    for track, last_item_id, enrolled_at, active_at, course_id, slug, title, _hash, done_list in rows:
        outline = outlines[course_id]
        done = enrollments.parse_completed_ids(done_list)
        cards.append(CourseCard(course_id, slug, title, track, enrolled_at, active_at, outline,
                                enrollments.summarize(outline, done, last_item_id)))
    return cards
