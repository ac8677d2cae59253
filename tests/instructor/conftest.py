"""A taught course with known learners: two modules (a quiz closes the first), six learners whose
progress, activity and enrollment dates are set exactly, and the course's instructor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from lms.auth.services import grant
from lms.catalog.models import Course, Item
from lms.catalog.services import get_outline, sync_courses
from lms.content import load_courses
from lms.enrollments.models import Enrollment
from lms.enrollments.services import complete_item
from lms.quizzes import services as quizzes
from tests.capstones.conftest import capstone_setup  # noqa: F401 (a fixture for these tests)
from tests.conftest import write_course

# A Wednesday noon: this week began on Monday 7 December 2026.
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)

QUIZ = """---
type: quiz
title: Module 1 check
pass_score: 100
---
## What is 2 + 2?
- [x] 4
- [ ] 5
"""


def take_quiz(db, enrollment_id: int, item_id: int, right: bool, now: datetime = NOW):
    quiz = quizzes.get_quiz(db, item_id)
    attempt = quizzes.start_attempt(db, enrollment_id, quiz, now)
    quizzes.save_responses(db, attempt, {attempt.layout[0]["question_id"]: 0 if right else 1}, now)
    return quizzes.submit_attempt(db, attempt.id, now, quiz)


@dataclass
class Taught:
    course: Course
    instructor: object
    steps: dict[str, int]  # "1.1", "1.2", "quiz", "2.1", "2.2" -> item id
    now: datetime  # the learners' dates are set relative to it
    learners: dict[str, object] = field(default_factory=dict)  # "a".."f" -> enrollment
    users: dict[str, object] = field(default_factory=dict)


# name -> (steps done, quiz answers (True: right), enrolled days before NOW, idle days before NOW)
LEARNERS = {
    "a": (["1.1", "1.2", "2.1"], [True], 1, 0.05),     # 80% (quiz passed), active: module 1 complete
    "b": (["1.1"], [], 8, 20),                          # 20%, idle 20 days: at risk
    "c": ([], [], 8, 15),                               # 0%, idle 15 days: at risk
    "d": (["1.1", "1.2", "2.1", "2.2"], [False], 100, 30),  # 80% (quiz failed): idle but not at risk
    "e": (["1.1", "2.1"], [], 21, 2),                   # 40%, active: not at risk
    "f": (["2.1", "2.2"], [], 21, 14),                  # 40%, idle exactly 14 days: at risk; module 2 complete
}


def add_learners(db, make_user, enroll, taught: Taught, learners: dict, names: dict | None = None) -> None:
    """Enroll ``learners`` (name -> (steps done, quiz answers, enrolled days ago, idle days ago))."""
    slug = taught.course.slug
    for name, (done, answers, enrolled_days, idle_days) in learners.items():
        user = make_user(f"{name}-{slug}@example.com", name=(names or {}).get(name, f"Learner {name.upper()}"))
        enrollment = enroll(user, taught.course)
        for step in done:
            complete_item(db, enrollment.id, taught.steps[step], "read")
        for right in answers:
            take_quiz(db, enrollment.id, taught.steps["quiz"], right, taught.now)
        db.execute(update(Enrollment).where(Enrollment.id == enrollment.id).values(
            enrolled_at=taught.now - timedelta(days=enrolled_days),
            last_activity_at=taught.now - timedelta(days=idle_days)))
        db.commit()
        taught.learners[name], taught.users[name] = enrollment, user


@pytest.fixture
def taught(db, app, courses_root, make_user, enroll):
    def build(slug: str = "taught-course", learners: dict = LEARNERS, names: dict | None = None,
              now: datetime = NOW) -> Taught:
        """NOW (a fixed Wednesday) for exact weekly figures; the views' tests pass the real time."""
        folder = write_course(courses_root, slug, modules=2, lessons=2)
        (folder / "01-module-1" / "09-check.md").write_text(QUIZ)
        result = load_courses(folder)
        assert result.ok, [str(p) for p in result.errors]
        sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
        db.commit()
        course = db.scalar(select(Course).where(Course.slug == slug))
        steps = {"quiz" if item.kind == "quiz" else item.title.removeprefix("Lesson "): item.id
                 for item in get_outline(db, course).steps}
        instructor = make_user(f"teacher-{slug}@example.com", name="Ines Instructor")
        grant(db, instructor, "instructor", slug)
        db.commit()
        setup = Taught(course, instructor, steps, now)
        add_learners(db, make_user, enroll, setup, learners, names)
        return setup

    return build


def quiz_item(db, course) -> Item:
    return db.scalar(select(Item).where(Item.course_id == course.id, Item.kind == "quiz"))
