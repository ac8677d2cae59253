"""A course with a capstone (text, links and files; four criteria), a learner, a grader, an instructor."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from lms.auth.services import grant
from lms.capstones import services
from lms.catalog.models import Course, Item
from lms.catalog.services import sync_courses
from lms.content import load_courses
from tests.conftest import write_course

CAPSTONE_MD = """---
title: "Capstone: analyse the trips"
max_revisions: {max_revisions}
deliverables:
  text: required
  links:
    min: 1
    max: 2
    label: Link to your repository
  files:
    max: 3
    max_size_mb: 1
    total_size_mb: 1.5
    types: [txt, csv, pdf, png]
rubric:
  - key: question
    title: Question and data
    required: true
    min_points: 2
    levels:
      - {{points: 0, title: Missing, description: No question stated.}}
      - {{points: 1, title: Developing, description: A vague question.}}
      - {{points: 2, title: Proficient, description: A clear question tied to the data.}}
  - key: cleaning
    title: Cleaning log
    levels:
      - {{points: 0, title: Missing}}
      - {{points: 2, title: Partial}}
      - {{points: 4, title: Complete}}
  - key: analysis
    title: Analysis
    levels:
      - {{points: 0, title: Missing}}
      - {{points: 2, title: Partial}}
      - {{points: 4, title: Complete}}
  - key: communication
    title: Communication
    levels:
      - {{points: 0, title: Unclear}}
      - {{points: 1, title: Clear}}
      - {{points: 2, title: Compelling}}
pass:
  min_points: 8
checks:
  headings: [Summary, Cleaning log]
  min_words: 20
  link_patterns: ['^https://(github\\.com|codeberg\\.org)/']
---
## The brief

Analyse [the data](assets/diagram.svg) and report what you find.
"""

GOOD_TEXT = """## Summary

Casual riders take longer trips at weekends, members commute on weekdays.

## Cleaning log

Removed three trips with negative durations and one duplicate row, keeping 140 trips in all.
"""

PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15"
             b"\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00"
             b"IEND\xaeB`\x82")


@dataclass
class CapstoneSetup:
    course: Course
    item: Item
    learner: object
    enrollment: object
    grader: object
    instructor: object

    def record(self, db) -> services.CapstoneRecord:
        return services.live_capstone(db, self.course.id)


def write_capstone_course(courses_root, slug: str = "capstone-course", max_revisions: int = 2, text: str | None = None):
    folder = courses_root / slug
    if not folder.exists():
        write_course(courses_root, slug, modules=1, lessons=2)
    (folder / "capstone.md").write_text(text or CAPSTONE_MD.format(max_revisions=max_revisions))
    return folder


@pytest.fixture
def capstone_setup(db, app, courses_root, make_user, enroll):
    def build(max_revisions: int = 2, slug: str = "capstone-course", learner_email: str = "learner@example.com",
              blind: bool = False):
        text = CAPSTONE_MD.format(max_revisions=max_revisions)
        if blind:
            text = text.replace("\npass:\n", "\nreview:\n  blind: true\npass:\n")
        folder = write_capstone_course(courses_root, slug, max_revisions, text)
        result = load_courses(folder)
        assert result.ok, [str(p) for p in result.errors]
        sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
        db.commit()
        course = db.scalar(select(Course).where(Course.slug == slug))
        item = db.scalar(select(Item).where(Item.kind == "capstone", Item.course_id == course.id))
        learner = make_user(learner_email, name="Lee Learner")
        grader = make_user(f"grader-{slug}@example.com", name="Grace Grader")
        instructor = make_user(f"instructor-{slug}@example.com", name="Ines Instructor")
        grant(db, grader, "grader", slug)
        grant(db, instructor, "instructor", slug)
        db.commit()
        return CapstoneSetup(course, item, learner, enroll(learner, course), grader, instructor)

    return build


@pytest.fixture
def store(app):
    from lms.uploads import get_upload_store

    with app.app_context():
        return get_upload_store()


def submitted(db, setup: CapstoneSetup, store=None, text: str = GOOD_TEXT,
              links=("https://github.com/lee/bikes",)):
    """Save a draft (with a small text file when a store is given) and submit it."""
    record = setup.record(db)
    services.save_draft(db, setup.enrollment.id, record, text, list(links))
    if store is not None:
        services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(b"trip_id,minutes\n1,12\n"), "trips.csv")
    db.flush()
    submission = services.submit(db, setup.enrollment.id, record)
    db.commit()
    return submission


def graded(db, setup: CapstoneSetup, submission, marks: dict):
    """The course's grader claims and grades a submitted version with ``marks``; returns the review."""
    services.claim(db, submission.id, setup.grader.id)
    review = services.grade(db, submission.id, setup.grader.id, services.Grading(marks, {}, "Reviewed."),
                            can_override=False)
    db.commit()
    return review


FULL_MARKS = {"question": 2, "cleaning": 4, "analysis": 4, "communication": 2}
LOW_MARKS = {"question": 1, "cleaning": 2, "analysis": 2, "communication": 1}
