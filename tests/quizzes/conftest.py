"""A course with a quiz of several question types, and a learner enrolled in it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from lms.catalog.models import Course, Item
from lms.catalog.services import sync_courses
from lms.content import load_courses
from tests.conftest import write_course

QUIZ_TEMPLATE = """---
type: quiz
title: Module 1 check
{settings}
---
## What does `len([1, 2])` return?
- [x] 2
  > Yes: two items.
- [ ] 1
  > Count again.
- [ ] 3

## Capital of France?
= Paris
> Paris has been the capital since 987.

## What is 2.5 times 4?
= 10

## Which are mutable?
- [x] list
- [x] dict
- [ ] tuple

## Explain why you would use a virtual environment. {type=essay}
"""


@dataclass
class QuizSetup:
    course: Course
    item: Item
    user: object
    enrollment: object


@pytest.fixture
def quiz_setup(db, app, courses_root, make_user, enroll):
    def build(settings: str = "pass_score: 60", essay: bool = False, email: str = "learner@example.com"):
        folder = courses_root / "quiz-course"
        if not folder.exists():
            write_course(courses_root, "quiz-course", modules=1, lessons=2)
        text = QUIZ_TEMPLATE.replace("{settings}", settings)
        if not essay:
            text = text.split("## Explain why")[0]
        (folder / "01-module-1" / "09-check.md").write_text(text)
        result = load_courses(folder)
        assert result.ok, [str(p) for p in result.errors]
        sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
        db.commit()
        course = db.scalar(select(Course).where(Course.slug == "quiz-course"))
        item = db.scalar(select(Item).where(Item.kind == "quiz", Item.course_id == course.id))
        user = make_user(email)
        enrollment = enroll(user, course)
        return QuizSetup(course, item, user, enrollment)

    return build
