"""The demo reviews (lms/course_reviews/demo.py): written through the services by learners who really
completed the courses, with one instructor reply; the summaries match; a second load adds nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.auth.models import User
from lms.catalog.models import Course
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.course_reviews import services
from lms.course_reviews.demo import DEMO_REVIEWS, load_demo_course_reviews
from lms.course_reviews.models import CourseReview
from lms.demo import load_demo
from lms.enrollments.models import Enrollment
from tests.conftest import ROOT
from tests.course_reviews.conftest import live_summary, stored_summary


def test_the_demo_reviews_are_earned_varied_and_loaded_once(app, db):
    result = load_courses(ROOT / "courses")
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    load_demo(db, app.extensions["lms.password_hasher"], "demo password 123", app.extensions["lms.uploads"])
    db.commit()

    lines = load_demo_course_reviews(db)
    db.commit()
    assert lines[0].startswith(f"Demo course reviews: {len(DEMO_REVIEWS)} (")
    assert db.scalar(select(func.count(CourseReview.id))) == len(DEMO_REVIEWS)
    ratings = set(db.scalars(select(CourseReview.rating)))
    assert len(ratings) >= 3
    [replied] = db.scalars(select(CourseReview).where(CourseReview.reply.is_not(None))).all()
    assert db.get(User, replied.replied_by_id).email == "instructor@example.com"
    for course in db.scalars(select(Course)):
        assert stored_summary(db, course.id) == live_summary(db, course.id)
        for review in db.scalars(select(CourseReview).where(CourseReview.course_id == course.id)):
            assert services.learner_completion(db, review.user_id, course).complete
    audited = db.scalars(select(Enrollment.track).join(User, User.id == Enrollment.user_id)
                         .where(User.email == "mei@example.com")).all()
    assert sorted(audited) == ["audit", "credential"]

    before = db.execute(select(CourseReview.id, CourseReview.updated_at, CourseReview.replied_at)).all()
    assert load_demo_course_reviews(db) == lines
    db.commit()
    assert db.execute(select(CourseReview.id, CourseReview.updated_at, CourseReview.replied_at)).all() == before
