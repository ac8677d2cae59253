"""The bench's course dashboard (issue 6): a course with 10,000 learners and its instructor.

:func:`prepare_teach` adds a copy of the real course ``python-data-analysis`` under the slug
``bench-teach`` to the generated instance (synced like any course, nobody else's pages touch it),
and fills it with learners who behave like a course's learners over twelve weeks: enrolled on
varied days, each working at their own pace for a while and then either still active or gone quiet,
so that some are at risk (idle 14 days, under half done). Their progress is the first steps of the
course in order: lessons read, module quizzes passed (a quarter after a failed first attempt, and
some learners stuck on a failed quiz), and a few hundred capstones (drafts, waiting, needing
revision, passed, each passed one earning its credential).

The bulk of the rows is written with executemany inserts (one ``INSERT`` per table, not one ORM
object per row through the services): going through the services for 10,000 learners would take
minutes. They are still the services' rows: one template learner is enrolled, fails and then
passes every module quiz through the quiz services, and the other learners' attempts are copies of
those two attempts (layout, seed, answers and scores), with their own times. The capstones go
through the capstone services (save, submit, claim, grade) and the credentials through the
issuance event, since there are few of them. What the copies leave out: failed attempts write no
spaced-review cards (they are not part of the course dashboard). The credentials are issued now
(a signed credential's date cannot be moved back), so the credentials chart has them all in the
current week, while the capstones' submission and grading times are spread. A test keeps the rows
in step with what the dashboard and the at-risk list read (tests/instructor/test_bench_teach.py).

The instructor (of this one course) is who `make bench` measures ``/teach/bench-teach`` as. The
snapshot is computed here, and :func:`time_compute` times ``stats.compute`` in-process: what each
background refresh of a course this size costs.
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

TEACH_COURSE = "bench-teach"
TEACH_TITLE = "Python for Data Analysis (bench cohort)"
LEARNERS = 10_000
INSTRUCTOR = ("bench.instructor@example.com", "Ines Bench-Instructor")  # unusual on purpose: the page check
LEARNER_EMAIL = "teach.learner.{number:05d}@example.com"
TEMPLATE_LEARNER = ("teach.template@example.com", "Tara Template-Learner")
WEEKS = 12  # enrollments spread over the dashboard's twelve weeks
ACTIVE_SHARE = 0.35  # learners still working now (active in the last few days)
AUDIT_SHARE = 0.15
FAILED_FIRST_SHARE = 0.25  # passed quizzes that were failed once before
STUCK_SHARE = 0.4  # learners whose next step is a quiz: failed it once and stopped
CAPSTONES = 300  # at most this many of the learners who finished every other step start the capstone
BATCH = 5000
COMPUTE_RUNS = 5


@dataclass(frozen=True)
class TeachData:
    slug: str
    course_id: int
    path: str  # the dashboard
    at_risk_path: str
    instructor_email: str
    instructor_name: str
    learners: int
    completions: int
    quiz_attempts: int
    submissions: int
    credentials: int
    at_risk: int
    prepare_s: float
    snapshot_at: str  # when the snapshot the measured page shows was computed (ISO, UTC)
    compute_ms: dict  # stats.compute in-process: median, min, max, runs

    def to_dict(self) -> dict:
        return asdict(self)


# -- the course ----------------------------------------------------------------------------------------

def write_teach_course(courses_dir: Path, source_dir: Path | None = None) -> Path:
    """Copy the real course under TEACH_COURSE into ``courses_dir``; returns its folder."""
    from bench.data import LESSON_COURSE, SOURCE_COURSES, copy_course  # noqa: PLC0415

    return copy_course((source_dir or SOURCE_COURSES) / LESSON_COURSE, courses_dir, TEACH_COURSE, TEACH_TITLE)


def sync_teach_course(db, courses_dir: Path, media_dir: Path, source_dir: Path | None = None):
    """Write the course into ``courses_dir`` and sync that one course (loading only it: the bench's
    other 70 courses are synced already). Returns the Course."""
    from sqlalchemy import select  # noqa: PLC0415

    from lms.catalog.models import Course  # noqa: PLC0415
    from lms.catalog.services import sync_courses  # noqa: PLC0415
    from lms.content import load_courses  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="skillmark-bench-teach-") as staging:
        folder = write_teach_course(Path(staging), source_dir)
        loaded = load_courses(Path(staging))
        if not loaded.ok:
            raise RuntimeError("the bench-teach course does not load: " + "; ".join(str(p) for p in loaded.errors))
        sync_courses(db, loaded.courses, media_dir)
        shutil.copytree(folder, courses_dir / TEACH_COURSE)  # where the server's courses folder has it
    return db.scalar(select(Course).where(Course.slug == TEACH_COURSE))


# -- the learners ----------------------------------------------------------------------------------------

@dataclass
class _Plan:
    """One learner's history: when they enrolled, were last active, and how many steps they did."""

    enrolled_at: datetime
    last_activity_at: datetime
    track: str
    done: int  # the first ``done`` steps (never the capstone: that goes through the services)
    failed_first: set  # quiz item ids failed once before they were passed
    stuck_on: int | None  # a quiz item id failed once as the last thing done


def _first_week(now: datetime) -> datetime:
    """The Monday the dashboard's twelve weeks begin on: every enrollment is inside its chart."""
    from lms.reports.weeks import week_starts  # noqa: PLC0415

    return week_starts(now, WEEKS)[0]


def _plan(rng: random.Random, now: datetime, steps, quiz_ids: set) -> _Plan:
    window = (now - _first_week(now)).total_seconds() - 60
    # More enrollments recently than twelve weeks ago (a course that is growing).
    enrolled_at = now - timedelta(seconds=window * (1 - rng.random() ** 0.8))
    age = (now - enrolled_at).total_seconds()
    if rng.random() < ACTIVE_SHARE:
        span = max(0.0, age - rng.uniform(0, min(age, 3 * 86400)))
    else:
        span = min(age, rng.expovariate(1 / (12 * 86400)))
    last_activity_at = enrolled_at + timedelta(seconds=span)
    pace = rng.uniform(0.15, 1.5)  # steps a day while active
    before_capstone = [s for s in steps if s.kind != "capstone"]
    done = min(len(before_capstone), int(span / 86400 * pace) + (rng.random() < 0.8))
    failed_first = {s.id for s in before_capstone[:done] if s.id in quiz_ids and rng.random() < FAILED_FIRST_SHARE}
    stuck_on = None
    if done < len(before_capstone) and before_capstone[done].id in quiz_ids and rng.random() < STUCK_SHARE:
        stuck_on = before_capstone[done].id
    track = "audit" if rng.random() < AUDIT_SHARE else "credential"
    return _Plan(enrolled_at, last_activity_at, track, done, failed_first, stuck_on)


def _templates(db, hasher, password: str, course, outline, now: datetime) -> dict:
    """The template learner's attempts, through the quiz services: per module quiz, a failed
    (unanswered) attempt, then a passed one. Returns quiz item id -> {"failed": ..., "passed": ...}
    with each attempt's columns and its answers' columns."""
    from sqlalchemy import select, update  # noqa: PLC0415

    from lms.auth.services import create_user  # noqa: PLC0415
    from lms.enrollments.models import Enrollment  # noqa: PLC0415
    from lms.enrollments.services import complete_item, enroll  # noqa: PLC0415
    from lms.quizzes import services as quizzes  # noqa: PLC0415
    from lms.quizzes.demo import pass_quiz  # noqa: PLC0415
    from lms.quizzes.models import AttemptAnswer, QuizAttempt  # noqa: PLC0415

    user = create_user(db, hasher, *TEMPLATE_LEARNER, password, verified=True)
    enrollment = enroll(db, user.id, course, track="credential")
    enrolled_at = at = _first_week(now) + timedelta(hours=1)
    templates = {}
    for step in outline.steps:
        at += timedelta(hours=6)
        if step.kind == "lesson":
            complete_item(db, enrollment.id, step.id, "read")
        elif step.kind == "quiz":
            quiz = quizzes.get_quiz(db, step.id)
            failed = quizzes.submit_attempt(db, quizzes.start_attempt(db, enrollment.id, quiz, at).id, at, quiz)
            passed = pass_quiz(db, enrollment.id, step.id, at + timedelta(hours=1))
            db.flush()
            templates[step.id] = {}
            for label, attempt in (("failed", failed), ("passed", passed)):
                row = db.execute(select(QuizAttempt).where(QuizAttempt.id == attempt.id)).scalar_one()
                db.refresh(row)
                answers = db.execute(select(AttemptAnswer.question_id, AttemptAnswer.response,
                                            AttemptAnswer.fraction, AttemptAnswer.status,
                                            AttemptAnswer.response_html, AttemptAnswer.grader_comment,
                                            AttemptAnswer.graded_by_id, AttemptAnswer.graded_at,
                                            AttemptAnswer.checked_at)
                                     .where(AttemptAnswer.attempt_id == row.id)).all()
                templates[step.id][label] = {
                    "layout": row.layout, "seed": row.seed, "points_earned": row.points_earned,
                    "points_possible": row.points_possible, "pending": row.pending, "passed": row.passed,
                    "duration": row.submitted_at - row.started_at,
                    "deadline_after": None if row.deadline is None else row.deadline - row.started_at,
                    "answers": [a._asdict() for a in answers],
                }
    # The template learner's dates as if they had worked through the course back then.
    db.execute(update(Enrollment).where(Enrollment.id == enrollment.id)
               .values(enrolled_at=enrolled_at, last_activity_at=at)
               .execution_options(synchronize_session=False))
    db.flush()
    return templates


def store_teach_learners(db, hasher, password: str, course, *, learners: int = LEARNERS,
                         capstones: int = CAPSTONES, rng: random.Random, now: datetime) -> dict:
    """Enroll ``learners`` learners (the template learner among them) with their progress. Returns counts."""
    from sqlalchemy import func, insert, select, update  # noqa: PLC0415

    from lms.auth.models import User  # noqa: PLC0415
    from lms.catalog.services import get_outline  # noqa: PLC0415
    from lms.enrollments.models import Enrollment, ItemCompletion  # noqa: PLC0415
    from lms.quizzes.models import AttemptAnswer, QuizAttempt  # noqa: PLC0415

    outline = get_outline(db, course)
    steps = outline.steps
    quiz_ids = {s.id for s in steps if s.kind == "quiz"}
    templates = _templates(db, hasher, password, course, outline, now)
    password_hash = hasher.hash(password)
    count = learners - 1  # the template learner is one of them
    plans = [_plan(rng, now, steps, quiz_ids) for _ in range(count)]
    for start in range(0, count, BATCH):
        db.execute(insert(User), [{"email": LEARNER_EMAIL.format(number=n), "name": f"Teach Learner {n:05d}",
                                   "password_hash": password_hash, "email_verified_at": plans[n].enrolled_at,
                                   "created_at": plans[n].enrolled_at, "password_changed_at": plans[n].enrolled_at}
                                  for n in range(start, min(count, start + BATCH))])
    user_ids = db.scalars(select(User.id).where(User.email.like("teach.learner.%")).order_by(User.email)).all()
    for start in range(0, count, BATCH):
        db.execute(insert(Enrollment), [
            {"user_id": user_ids[n], "course_id": course.id, "track": p.track, "enrolled_at": p.enrolled_at,
             "last_activity_at": p.last_activity_at, "last_item_id": steps[min(p.done, len(steps) - 1)].id}
            for n, p in ((n, plans[n]) for n in range(start, min(count, start + BATCH)))])
    by_user = dict(db.execute(select(Enrollment.user_id, Enrollment.id).where(Enrollment.course_id == course.id)).all())
    enrollment_ids = [by_user[uid] for uid in user_ids]

    completions, attempts = [], []  # attempts: (enrollment id, quiz id, number, template, submitted_at)
    for enrollment_id, p in zip(enrollment_ids, plans, strict=True):
        span = p.last_activity_at - p.enrolled_at
        for j, step in enumerate(steps[:p.done]):
            at = p.enrolled_at + span * ((j + 1) / p.done)
            if step.id in quiz_ids:
                number = 1
                if step.id in p.failed_first:
                    attempts.append((enrollment_id, step.id, 1, "failed", at - span / (2 * p.done)))
                    number = 2
                attempts.append((enrollment_id, step.id, number, "passed", at))
            completions.append({"enrollment_id": enrollment_id, "item_id": step.id,
                                "how": "passed" if step.id in quiz_ids else "read", "completed_at": at})
        if p.stuck_on is not None:
            attempts.append((enrollment_id, p.stuck_on, 1, "failed", p.last_activity_at))
    for start in range(0, len(completions), BATCH):
        db.execute(insert(ItemCompletion), completions[start:start + BATCH])

    rows = []
    for enrollment_id, quiz_id, number, which, submitted_at in attempts:
        t = templates[quiz_id][which]
        started_at = submitted_at - t["duration"]
        rows.append({"enrollment_id": enrollment_id, "quiz_item_id": quiz_id, "number": number, "seed": t["seed"],
                     "state": "submitted", "layout": t["layout"], "started_at": started_at,
                     "deadline": None if t["deadline_after"] is None else started_at + t["deadline_after"],
                     "submitted_at": submitted_at, "points_earned": t["points_earned"],
                     "points_possible": t["points_possible"], "pending": t["pending"], "passed": t["passed"]})
    for start in range(0, len(rows), BATCH):
        db.execute(insert(QuizAttempt), rows[start:start + BATCH])
    bulk = set(enrollment_ids)  # (not the template learner's attempts)
    attempt_ids = {(e, q, n): a for a, e, q, n in db.execute(
        select(QuizAttempt.id, QuizAttempt.enrollment_id, QuizAttempt.quiz_item_id, QuizAttempt.number)
        .where(QuizAttempt.quiz_item_id.in_(quiz_ids))) if e in bulk}
    answers = []
    for enrollment_id, quiz_id, number, which, submitted_at in attempts:
        attempt_id = attempt_ids[(enrollment_id, quiz_id, number)]
        for a in templates[quiz_id][which]["answers"]:
            answers.append({**a, "attempt_id": attempt_id, "saved_at": submitted_at - timedelta(seconds=30),
                            "checked_at": submitted_at if a["checked_at"] is not None else None,
                            "graded_at": submitted_at if a["graded_at"] is not None else None})
        if len(answers) >= BATCH:
            db.execute(insert(AttemptAnswer), answers)
            answers = []
    if answers:
        db.execute(insert(AttemptAnswer), answers)

    # The capstones, through the services: learners on the credential track who finished every other step.
    before_capstone = sum(1 for s in steps if s.kind != "capstone")
    ready = [(e, p) for e, p in zip(enrollment_ids, plans, strict=True)
             if p.done == before_capstone and p.track == "credential"]
    ready = rng.sample(ready, min(capstones, len(ready)))
    submissions = _capstones(db, course, ready, rng=rng, now=now) if outline.capstone is not None else 0
    # The services stamped the learners' activity as they went: put back each one's planned last activity.
    if ready:
        db.execute(update(Enrollment).execution_options(synchronize_session=False),
                   [{"id": e, "last_activity_at": p.last_activity_at} for e, p in ready])
    course_enrollments = select(Enrollment.id).where(Enrollment.course_id == course.id)
    return {"learners": learners,
            "completions": db.scalar(select(func.count()).select_from(ItemCompletion)
                                     .where(ItemCompletion.enrollment_id.in_(course_enrollments))),
            "quiz_attempts": db.scalar(select(func.count()).select_from(QuizAttempt)
                                       .where(QuizAttempt.enrollment_id.in_(course_enrollments))),
            "submissions": submissions}


def _capstones(db, course, ready, *, rng: random.Random, now: datetime) -> int:
    """Drafts, waiting versions, graded ones (needing revision, or passed: their credential is issued by
    the grading's event) for the ``ready`` enrollments, with times inside each learner's activity."""
    from sqlalchemy import select  # noqa: PLC0415

    from lms.auth.models import User  # noqa: PLC0415
    from lms.capstones import services as capstones  # noqa: PLC0415

    grader_id = db.scalar(select(User.id).where(User.email == INSTRUCTOR[0]))
    record = capstones.live_capstone(db, course.id)
    rubric = record.capstone.rubric
    top = {c.key: c.levels[-1].points for c in rubric}
    low = {c.key: c.levels[0].points for c in rubric}
    text = ("## Summary\n\nWeekday commuters ride most between 7 and 9; weekend trips are longer and start "
            "by the river. The notebook cleans the trips, groups them by hour and station and charts both.\n")
    link = "https://github.com/bench/bike-share-analysis"
    written = 0
    for enrollment_id, plan in ready:
        span = plan.last_activity_at - plan.enrolled_at
        submitted_at = plan.last_activity_at - min(span / 4, timedelta(days=2))
        draw = rng.random()
        capstones.save_draft(db, enrollment_id, record, text, [link], submitted_at - timedelta(hours=1))
        written += 1
        if draw < 0.1:
            continue  # a draft
        capstones.submit(db, enrollment_id, record, submitted_at)
        if draw < 0.3:
            continue  # waiting for a grader
        submission_id = capstones.versions_of(db, enrollment_id, record.item_id)[-1].submission.id
        graded_at = min(now, submitted_at + timedelta(hours=rng.uniform(2, 96)))
        capstones.claim(db, submission_id, grader_id, graded_at - timedelta(minutes=20))
        scores = low if draw < 0.45 else top
        capstones.grade(db, submission_id, grader_id, capstones.Grading(scores, {}, "Bench review."),
                        can_override=False, now=graded_at)
    db.flush()
    return written


# -- preparing, refreshing and timing ---------------------------------------------------------------------

def _teach_app(data):
    """The bench app over the generated instance, with a signing key (issuing needs one)."""
    from bench.data import create_bench_app  # noqa: PLC0415
    from lms.credentials.keystore import create_key, key_folder  # noqa: PLC0415

    app = create_bench_app(data)
    if not any(key_folder(data.instance_dir).glob("*.pem")):
        create_key(data.instance_dir)  # production mode creates no key on first use; an operator would
    return app


def prepare_teach(data, *, learners: int = LEARNERS, capstones: int = CAPSTONES, seed: int = 20261207,
                  compute_runs: int = COMPUTE_RUNS) -> TeachData:
    """The course, its instructor and learners in the bench instance, the snapshot computed, and
    ``stats.compute`` timed. Run after bench.data.prepare (and before the servers start)."""
    from sqlalchemy import func, select  # noqa: PLC0415

    from lms.auth.models import User  # noqa: PLC0415
    from lms.auth.services import create_user, grant  # noqa: PLC0415
    from lms.credentials.models import Achievement, Credential  # noqa: PLC0415
    from lms.db import get_db, get_engine, utcnow  # noqa: PLC0415
    from lms.instructor import services  # noqa: PLC0415

    started = time.perf_counter()
    app = _teach_app(data)
    try:
        with app.app_context():
            db = get_db()
            settings = app.config["LMS_SETTINGS"]
            course = sync_teach_course(db, data.courses_dir, settings.media_dir)
            hasher = app.extensions["lms.password_hasher"]
            instructor = create_user(db, hasher, *INSTRUCTOR, data.password, verified=True)
            grant(db, instructor, "instructor", TEACH_COURSE)
            grant(db, instructor, "grader", TEACH_COURSE)  # grades the capstones below
            db.flush()
            counts = store_teach_learners(db, hasher, data.password, course, learners=learners,
                                          capstones=capstones, rng=random.Random(seed), now=utcnow())
            db.commit()
            course_id = course.id
            credentials = db.scalar(select(func.count()).select_from(Credential)
                                    .join(Achievement, Achievement.id == Credential.achievement_id)
                                    .where(Achievement.course_id == course_id))
            if db.scalar(select(func.count()).select_from(User).where(User.email == INSTRUCTOR[0])) != 1:
                raise RuntimeError("the bench instructor was not created")
        compute_ms = time_compute(app, course_id, compute_runs)
        snapshot = refresh_snapshot(app, course_id)
        with app.app_context():
            outline = services._outline(get_db(), course_id)
            at_risk = services.at_risk_page(get_db(), outline).total
    finally:
        get_engine(app).dispose()
    return TeachData(
        slug=TEACH_COURSE, course_id=course_id, path=f"/teach/{TEACH_COURSE}",
        at_risk_path=f"/teach/{TEACH_COURSE}/at-risk", instructor_email=INSTRUCTOR[0], instructor_name=INSTRUCTOR[1],
        learners=counts["learners"], completions=counts["completions"], quiz_attempts=counts["quiz_attempts"],
        submissions=counts["submissions"], credentials=credentials, at_risk=at_risk,
        prepare_s=round(time.perf_counter() - started, 1), snapshot_at=snapshot.isoformat(timespec="seconds"),
        compute_ms=compute_ms)


def time_compute(app, course_id: int, runs: int = COMPUTE_RUNS) -> dict:
    """The median time of ``stats.compute`` for the course, in this process (each run in its own
    transaction, after one untimed run that warms SQLite's page cache and the outline cache)."""
    from lms.db import get_db, utcnow  # noqa: PLC0415
    from lms.instructor import services, stats  # noqa: PLC0415

    timings = []
    with app.app_context():
        db = get_db()
        outline = services._outline(db, course_id)
        for run in range(runs + 1):
            began = time.perf_counter()
            stats.compute(db, outline, utcnow())
            if run:
                timings.append((time.perf_counter() - began) * 1000)
            db.rollback()
    return {"median": round(statistics.median(timings), 1), "min": round(min(timings), 1),
            "max": round(max(timings), 1), "runs": runs}


def refresh_snapshot(app, course_id: int) -> datetime:
    """Compute and store the course's snapshot now, as the background job does. Returns its time."""
    from lms.db import get_db, utcnow  # noqa: PLC0415
    from lms.instructor import services  # noqa: PLC0415

    with app.app_context():
        db = get_db()
        now = utcnow()
        services.refresh_course_stats(db, course_id, now)
        db.commit()
    return now


def pending_refreshes(app, course_id: int) -> int:
    """Refresh jobs waiting for the course: a view that found the snapshot stale queued one."""
    from sqlalchemy import func, select  # noqa: PLC0415

    from lms.db import get_db  # noqa: PLC0415
    from lms.instructor import services  # noqa: PLC0415
    from lms.jobs.models import Job  # noqa: PLC0415

    with app.app_context():
        return get_db().scalar(select(func.count()).select_from(Job).where(
            Job.kind == services.REFRESH_JOB, Job.done_at.is_(None), Job.failed_at.is_(None),
            Job.payload["course_id"].as_integer() == course_id))


class SnapshotKeeper:
    """Keeps the measured dashboard's snapshot fresh while `make bench` runs, as the background job
    would: before a wrk run of the dashboard, if the snapshot would turn older than FRESH_FOR before the
    run ends, it is recomputed (in this process, outside the measurement). So every measured request
    reads a fresh snapshot, the page an instructor gets, never the "updating" one that queues a job."""

    MARGIN = timedelta(seconds=60)

    def __init__(self, data, teach: TeachData):
        from bench.data import create_bench_app  # noqa: PLC0415

        self.course_id = teach.course_id
        self.computed_at = datetime.fromisoformat(teach.snapshot_at)
        self.refreshes = 0
        self._app = create_bench_app(data)

    def ensure_fresh(self, run_s: float) -> None:
        from lms.db import utcnow  # noqa: PLC0415
        from lms.instructor.services import FRESH_FOR  # noqa: PLC0415

        if utcnow() + timedelta(seconds=run_s) + self.MARGIN >= self.computed_at + FRESH_FOR:
            self.computed_at = refresh_snapshot(self._app, self.course_id)
            self.refreshes += 1

    def stale_views(self) -> int:
        """Refresh jobs queued by the server: non-zero means some measured request found the snapshot stale."""
        return pending_refreshes(self._app, self.course_id)

    def close(self) -> None:
        from lms.db import get_engine  # noqa: PLC0415

        get_engine(self._app).dispose()
