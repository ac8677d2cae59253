"""What the dashboard shows: each enrollment's progress and next step, in a constant number of
queries however many courses the learner takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outlines
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment


@dataclass(frozen=True)
class CourseCard:
    course_slug: str
    course_title: str
    track: str
    enrolled_at: datetime
    last_activity_at: datetime
    outline: Outline
    progress: enrollments.Progress


def learner_dashboard(db: Session, user_id: int) -> list[CourseCard]:
    """The learner's courses, most recently active first (three queries, or five on a cold cache)."""
    rows = db.execute(
        select(Enrollment.id, Enrollment.track, Enrollment.last_item_id, Enrollment.enrolled_at,
               Enrollment.last_activity_at, Course.id, Course.slug, Course.title, Course.content_hash)
        .join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.user_id == user_id, Course.retired_at.is_(None))
        .order_by(Enrollment.last_activity_at.desc(), Enrollment.id.desc())
    ).all()
    outlines = get_outlines(db, [(row[5], row[8]) for row in rows])
    done = enrollments.completed_item_ids(db, [row[0] for row in rows])
    cards = []
    for enrollment_id, track, last_item_id, enrolled_at, active_at, course_id, slug, title, _hash in rows:
        outline = outlines[course_id]
        cards.append(CourseCard(slug, title, track, enrolled_at, active_at, outline,
                                enrollments.summarize(outline, done[enrollment_id], last_item_id)))
    return cards
