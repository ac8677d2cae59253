"""The bench's bulk-inserted grader queue holds rows the services treat like their own."""

from __future__ import annotations

import random

from sqlalchemy import select

from lms.auth.models import User
from lms.capstones import services
from lms.catalog.services import sync_courses
from lms.content import load_courses


def test_bench_queue_rows_are_gradable_like_real_submissions(app, db, tmp_path):
    from bench.grading import store_queue_data, write_capstone_courses

    courses = tmp_path / "bench-courses"
    slugs = write_capstone_courses(courses, count=3)
    loaded = load_courses(courses)
    assert loaded.ok, [str(p) for p in loaded.errors]
    sync_courses(db, loaded.courses, app.config["LMS_SETTINGS"].media_dir)
    queue = store_queue_data(db, app.extensions["lms.password_hasher"], "pw-for-bench", slugs, submissions=30,
                             rng=random.Random(1))
    db.commit()
    assert (queue.submissions, queue.courses) == (30, 3)
    grader = db.scalar(select(User).where(User.email == queue.grader_email))
    course_ids = [c.id for c in services.graded_courses(db, grader.id)]
    assert len(course_ids) == 3
    entries, cursor = services.grader_queue(db, services.QueueScope(grader.id), limit=50)
    assert len(entries) == 30 and cursor is None
    assert [e.submitted_at for e in entries] == sorted(e.submitted_at for e in entries)
    oldest = entries[0].submission_id
    services.claim(db, oldest, grader.id)
    scores = {"question": 2, "method": 4, "results": 4, "writing": 2}
    review = services.grade(db, oldest, grader.id, services.Grading(scores, {}, "ok"), can_override=False)
    assert review.outcome == "passed" and review.points == 12
