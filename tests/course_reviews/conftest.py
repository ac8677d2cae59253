"""A lessons-only course (2 modules of 3 lessons: 6 steps), learners who completed part or all of it, an
instructor, and the two ways of reading a course's rating summary (stored and live)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.auth.services import grant
from lms.catalog.models import Course
from lms.catalog.services import get_outline
from lms.course_reviews.models import CourseReview
from lms.enrollments.services import complete_item
from tests.capstones.conftest import capstone_setup  # noqa: F401  (a course with a capstone, for the audit track)


@pytest.fixture
def course(make_course):
    return make_course("reviewed-course")


@pytest.fixture
def learner_who(db, make_user, enroll):
    """``learner_who(course, share=1.0)``: a new learner enrolled in the course with that share of its steps done."""

    def factory(course, share: float = 1.0, email: str | None = None, name: str = "Ada Lovelace",
                track: str = "credential"):
        user = make_user(email, name=name)
        enrollment = enroll(user, course, track)
        steps = get_outline(db, course).steps
        for step in steps[: round(len(steps) * share)]:
            complete_item(db, enrollment.id, step.id)
        db.commit()
        return user

    return factory


@pytest.fixture
def instructor(db, make_user, course):
    user = make_user("ines@example.com", name="Ines Instructor")
    grant(db, user, "instructor", course.slug)
    db.commit()
    return user


def stored_summary(db, course_id: int) -> tuple[int, int]:
    db.expire_all()
    return tuple(db.execute(select(Course.rating_count, Course.rating_total).where(Course.id == course_id)).one())


def live_summary(db, course_id: int) -> tuple[int, int]:
    count, total = db.execute(select(func.count(CourseReview.id), func.coalesce(func.sum(CourseReview.rating), 0))
                              .where(CourseReview.course_id == course_id)).one()
    return count, total
