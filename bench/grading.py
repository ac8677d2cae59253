"""The bench's grader queue: 50 small courses with a capstone each, and 10,000 submitted versions.

:func:`write_capstone_courses` adds the courses to the bench's own courses folder (one module, one
lesson, and a capstone with a four-criterion rubric). :func:`store_queue_data` then enrols learners
and writes the submissions with bulk inserts: the queue page is what is measured, not the speed of
creating its data, and going through the services for 10,000 versions would take minutes. The rows
are what the services write for a submitted version (state, timestamps, the capstone version, the
rendered text); a test keeps the two in step (tests/capstones/test_bench_data.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

COURSES = 50
SUBMISSIONS = 10_000
QUEUE_COURSE = "bench-capstone-{number:02d}"
GRADER = ("bench.grader@example.com", "Gale Bench-Grader")  # unusual on purpose: the page check looks for it
LEARNER_EMAIL = "queue.learner.{number:04d}@example.com"
QUEUE_PATH = "/grading"

CAPSTONE = """---
title: "Capstone: a small analysis"
deliverables:
  text: required
  links:
    max: 2
rubric:
  - key: question
    title: Question
    required: true
    min_points: 2
    levels:
      - {points: 0, title: Missing}
      - {points: 1, title: Vague}
      - {points: 2, title: Clear}
  - key: method
    title: Method
    levels:
      - {points: 0, title: Missing}
      - {points: 2, title: Partial}
      - {points: 4, title: Complete}
  - key: results
    title: Results
    levels:
      - {points: 0, title: Missing}
      - {points: 2, title: Partial}
      - {points: 4, title: Complete}
  - key: writing
    title: Writing
    levels:
      - {points: 0, title: Unclear}
      - {points: 2, title: Clear}
pass:
  min_points: 8
---
Answer one question with the data in the lesson and explain how.
"""


@dataclass(frozen=True)
class QueueData:
    path: str
    grader_email: str
    grader_name: str
    submissions: int
    courses: int


def write_capstone_courses(courses_dir: Path, count: int = COURSES) -> list[str]:
    slugs = []
    for number in range(1, count + 1):
        slug = QUEUE_COURSE.format(number=number)
        folder = courses_dir / slug
        (folder / "01-start").mkdir(parents=True)
        (folder / "course.yml").write_text(
            f"title: Bench capstone course {number}\nsummary: A generated course with a capstone for the bench.\n"
            "level: beginner\n", encoding="utf-8")
        (folder / "01-start" / "module.yml").write_text("title: Start\n", encoding="utf-8")
        (folder / "01-start" / "01-read-me.md").write_text("---\ntitle: Read me\n---\nThe data and the question.\n",
                                                           encoding="utf-8")
        (folder / "capstone.md").write_text(CAPSTONE, encoding="utf-8")
        slugs.append(slug)
    return slugs


def store_queue_data(db, hasher, password: str, slugs: list[str], *, submissions: int = SUBMISSIONS,
                     rng: random.Random) -> QueueData:
    """The grader (of every course), and ``submissions`` submitted versions spread over the courses."""
    from sqlalchemy import insert, select  # noqa: PLC0415

    from lms.auth.models import User  # noqa: PLC0415
    from lms.auth.services import create_user, grant  # noqa: PLC0415
    from lms.capstones.models import CapstoneVersion, Submission  # noqa: PLC0415
    from lms.catalog.models import Course, Item  # noqa: PLC0415
    from lms.db import utcnow  # noqa: PLC0415
    from lms.enrollments.models import Enrollment  # noqa: PLC0415
    from lms.markup import render_markdown  # noqa: PLC0415

    grader = create_user(db, hasher, *GRADER, password, verified=True)
    for slug in slugs:
        grant(db, grader, "grader", slug)
    rows = db.execute(select(Course.id, Item.id, CapstoneVersion.id)
                      .join(Item, Item.course_id == Course.id).join(CapstoneVersion, CapstoneVersion.item_id == Item.id)
                      .where(Course.slug.in_(slugs), Item.kind == "capstone", CapstoneVersion.retired_at.is_(None))
                      ).all()
    if len(rows) != len(slugs):
        raise RuntimeError(f"{len(rows)} of the {len(slugs)} bench capstone courses have a capstone after the sync")
    per_course = -(-submissions // len(rows))
    # One learner per submission slot in a course: each learner submits in every course.
    password_hash = hasher.hash(password)
    db.execute(insert(User), [{"email": LEARNER_EMAIL.format(number=n), "name": f"Queue Learner {n:04d}",
                               "password_hash": password_hash, "email_verified_at": utcnow()}
                              for n in range(per_course)])
    learner_ids = db.scalars(select(User.id).where(User.email.like("queue.learner.%")).order_by(User.id)).all()
    text = "## Question\n\nWhich station is busiest?\n\n## Method\n\nCounted trips per start station.\n"
    html = render_markdown(text).html
    now = utcnow()
    enrollment_rows, written = [], 0
    for course_id, _item_id, _version_id in rows:
        enrollment_rows += [{"user_id": uid, "course_id": course_id, "track": "credential"} for uid in learner_ids]
    db.execute(insert(Enrollment), enrollment_rows)
    enrollments = {(u, c): e for e, u, c in db.execute(select(Enrollment.id, Enrollment.user_id, Enrollment.course_id)
                                                      .where(Enrollment.user_id.in_(learner_ids)))}
    batch = []
    for course_id, item_id, version_id in rows:
        for user_id in learner_ids:
            if written >= submissions:
                break
            submitted_at = now - timedelta(minutes=rng.randint(10, 60 * 24 * 20))
            batch.append({"enrollment_id": enrollments[(user_id, course_id)], "item_id": item_id,
                          "course_id": course_id, "version": 1, "state": "submitted",
                          "capstone_version_id": version_id, "text": text, "text_html": html,
                          "links": ["https://github.com/bench/analysis"], "checks": [],
                          "created_at": submitted_at, "updated_at": submitted_at, "submitted_at": submitted_at})
            written += 1
    for start in range(0, len(batch), 2000):
        db.execute(insert(Submission), batch[start:start + 2000])
    return QueueData(QUEUE_PATH, GRADER[0], GRADER[1], written, len(rows))
