"""A learner with something in every area (two courses, a quiz attempt with review cards, a graded
capstone with files, a credential, notifications, a course review, email choices), and another learner
in the same course who uploaded one identical file."""

from __future__ import annotations

import dataclasses
import io
import os
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from lms.capstones import services as capstones
from lms.capstones.models import Submission
from lms.catalog.models import Course, Item
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.course_reviews.models import CourseReview
from lms.credentials.models import Credential
from lms.notifications.services import set_email_choices
from tests.capstones.conftest import FULL_MARKS, GOOD_TEXT, CapstoneSetup, capstone_setup, store  # noqa: F401
from tests.conftest import write_course
from tests.quizzes.conftest import QUIZ_TEMPLATE
from tests.spaced_review.conftest import submit as submit_quiz

SHARED_BYTES = b"trip_id,minutes\n1,12\n"
LEARNER_TEXT = GOOD_TEXT + "\nLee's own words: the Tuesday anomaly is a data error.\n"
OTHER_TEXT = GOOD_TEXT + "\nOlga's own words: weekend casual riders dominate.\n"


@dataclass
class Rich:
    setup: CapstoneSetup
    learner: object
    other: object
    submission: Submission
    other_submission: Submission
    credential: Credential
    own_sha: str
    shared_sha: str


def age_files(upload_store, *hashes: str, seconds: int = 3600) -> None:
    """Make stored files look older than the grace period (an upload in flight is never deleted)."""
    past = time.time() - seconds
    for sha256 in hashes:
        os.utime(upload_store.path_for(sha256), (past, past))


def submit_capstone(db, setup: CapstoneSetup, upload_store, text: str, files: list[tuple[str, bytes]]):
    record = setup.record(db)
    capstones.save_draft(db, setup.enrollment.id, record, text, ["https://github.com/lee/bikes"])
    stored = [capstones.add_file(db, upload_store, setup.enrollment.id, record, io.BytesIO(data), name)
              for name, data in files]
    db.flush()
    submission = capstones.submit(db, setup.enrollment.id, record)
    db.commit()
    return submission, stored


def grade(db, setup: CapstoneSetup, submission, comment: str = "Reviewed: clear and careful."):
    capstones.claim(db, submission.id, setup.grader.id)
    capstones.grade(db, submission.id, setup.grader.id, capstones.Grading(FULL_MARKS, {}, comment),
                    can_override=False)
    db.commit()


@pytest.fixture
def rich(db, app, courses_root, capstone_setup, make_user, enroll, store):  # noqa: F811
    def build() -> Rich:
        setup = capstone_setup()
        learner = setup.learner
        submission, (shared, own) = submit_capstone(
            db, setup, store, LEARNER_TEXT, [("trips.csv", SHARED_BYTES), ("notes.txt", b"Lee's private notes\n")])
        grade(db, setup, submission)
        credential = db.scalar(select(Credential).where(Credential.user_id == learner.id))
        assert credential is not None

        other = make_user("olga@example.com", name="Olga Other")
        other_setup = dataclasses.replace(setup, learner=other, enrollment=enroll(other, setup.course))
        other_submission, _ = submit_capstone(db, other_setup, store, OTHER_TEXT, [("same.csv", SHARED_BYTES)])

        # A quiz course: one attempt with two misses (so two review cards).
        folder = write_course(courses_root, "quiz-course", modules=1, lessons=2)
        (folder / "01-module-1" / "09-check.md").write_text(QUIZ_TEMPLATE.replace("{settings}", "pass_score: 60")
                                                            .split("## Explain why")[0])
        result = load_courses(folder)
        assert result.ok, [str(p) for p in result.errors]
        sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
        db.commit()
        quiz_course = db.scalar(select(Course).where(Course.slug == "quiz-course"))
        quiz_item = db.scalar(select(Item).where(Item.kind == "quiz", Item.course_id == quiz_course.id))
        quiz = dataclasses.make_dataclass("Q", ["item", "enrollment"])(quiz_item, enroll(learner, quiz_course))
        submit_quiz(db, quiz, {"single": "wrong", "numerical": "wrong"})

        db.add(CourseReview(course_id=setup.course.id, user_id=learner.id, rating=4,
                            body="Lee liked the bikes data.", body_html="<p>Lee liked the bikes data.</p>"))
        course = db.get(Course, setup.course.id)
        course.rating_count, course.rating_total = (course.rating_count or 0) + 1, (course.rating_total or 0) + 4
        set_email_choices(db, learner.id, {"submission_graded": False})
        db.commit()

        return Rich(setup, learner, other, submission, other_submission, credential, own.sha256, shared.sha256)

    return build
