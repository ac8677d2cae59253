"""The bench's bulk-written course cohort (bench/instructor.py) holds rows the course dashboard reads
like the services' own: the snapshot's figures agree with the learners' rows counted one by one."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import func, select

from lms.auth.models import User
from lms.auth.services import create_user, grant
from lms.capstones.models import Submission
from lms.catalog.services import get_outline
from lms.credentials.models import Achievement, Credential
from lms.db import utcnow
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.instructor import services, stats
from lms.quizzes.models import AttemptAnswer, QuizAttempt


def test_bench_cohort_is_what_the_dashboard_counts(app, db, hasher, tmp_path):
    from bench.instructor import INSTRUCTOR, TEACH_COURSE, store_teach_learners, sync_teach_course

    courses_dir = tmp_path / "bench-courses"
    courses_dir.mkdir()
    course = sync_teach_course(db, courses_dir, app.config["LMS_SETTINGS"].media_dir)
    assert (courses_dir / TEACH_COURSE / "course.yml").is_file()
    instructor = create_user(db, hasher, *INSTRUCTOR, "pw-for-bench", verified=True)
    grant(db, instructor, "instructor", TEACH_COURSE)
    grant(db, instructor, "grader", TEACH_COURSE)
    db.flush()
    now = utcnow()
    counts = store_teach_learners(db, hasher, "pw-for-bench", course, learners=300, capstones=20,
                                  rng=random.Random(3), now=now)
    db.commit()
    outline = get_outline(db, course)
    total_steps = len(outline.steps)

    rows = db.execute(select(Enrollment.id, Enrollment.enrolled_at, Enrollment.last_activity_at, Enrollment.track)
                      .where(Enrollment.course_id == course.id)).all()
    assert len(rows) == counts["learners"] == 300
    assert all(r.enrolled_at <= r.last_activity_at <= now for r in rows)
    assert min(r.enrolled_at for r in rows) >= now - stats.WEEKS * stats.timedelta(days=7)
    done = Counter(db.scalars(select(ItemCompletion.enrollment_id).join(
        Enrollment, Enrollment.id == ItemCompletion.enrollment_id).where(Enrollment.course_id == course.id)))
    at_risk = sum(stats.is_at_risk(done[r.id], total_steps, r.last_activity_at, now) for r in rows)
    assert 0 < at_risk < 300 and len({done[r.id] for r in rows}) > 5  # a spread, some at risk
    assert {r.track for r in rows} == {"credential", "audit"}

    figures = stats.compute(db, outline, now)
    assert figures["learners"]["total"] == 300 and figures["learners"]["at_risk"] == at_risk
    assert sum(figures["enrolled"]) == 300
    assert services.at_risk_page(db, outline, now).total == at_risk
    # Every passed quiz has its completion and a passing attempt whose answers are the template's.
    for quiz in figures["quizzes"]:
        completed = db.scalar(select(func.count()).select_from(ItemCompletion).where(
            ItemCompletion.item_id == quiz["id"], ItemCompletion.how == "passed"))
        assert quiz["passed"] == completed > 0
        assert quiz["attempts"] > quiz["passed"] and 0 < quiz["facility"] < 100
    attempts = db.scalar(select(func.count()).select_from(QuizAttempt).join(
        Enrollment, Enrollment.id == QuizAttempt.enrollment_id).where(Enrollment.course_id == course.id))
    assert attempts == counts["quiz_attempts"]
    without_answers = db.scalar(select(func.count()).select_from(QuizAttempt).where(
        ~select(AttemptAnswer.id).where(AttemptAnswer.attempt_id == QuizAttempt.id).exists()))
    assert without_answers == 0
    # The capstones went through the services: states as graded, and a credential for each pass.
    states = dict(db.execute(select(Submission.state, func.count()).where(Submission.course_id == course.id)
                             .group_by(Submission.state)).all())
    assert sum(states.values()) == counts["submissions"] == figures["capstone"]["states"]["passed"] + sum(
        n for s, n in figures["capstone"]["states"].items() if s != "passed")
    issued = db.scalar(select(func.count()).select_from(Credential).join(
        Achievement, Achievement.id == Credential.achievement_id).where(Achievement.course_id == course.id))
    assert issued == states.get("passed", 0) > 0
    assert states.get("submitted", 0) > 0 and states.get("draft", 0) > 0 and len(states) >= 4, states
    assert db.scalar(select(func.count()).select_from(User).where(User.email.like("teach.learner.%"))) == 299
