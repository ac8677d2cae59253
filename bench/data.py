"""The data the bench measures: a fresh instance folder with courses, one learner and their progress.

Everything lives in the instance folder given to :func:`prepare` (the bench passes a new temporary
folder each run), never in the project's own ``instance/``. The real course
``python-data-analysis`` is synced as it is, plus copies of it under other slugs, so the learner can
hold twenty enrollments of realistic size; in each, the first 30-60% of the lessons are completed
and the first module's quiz is passed (so the dashboard shows quiz scores). In every other course
that quiz was first failed two days earlier, so the missed questions' review cards are due (the
dashboard's review section and per-course counts). The learner also holds one current credential
(awarded by hand by an admin, for the least recently active course), which counts toward a pathway
of three of the courses, so the dashboard's credentials and pathways sections are shown too.

For the quiz scenario, a small generated course holds a quiz of 20 mixed questions (bench.quiz);
its own learners (one or more per wrk connection, none of them the learner above, whose pages
stay as they were) and one more learner, graded in-process, are enrolled in it.

For the grader queue, 50 small courses with a capstone each and 10,000 submitted versions, and a
grader of all 50 courses (bench.grading).
"""

from __future__ import annotations

import json
import random
import re
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench.grading import QueueData, store_queue_data, write_capstone_courses
from bench.quiz import GRADING_LEARNER, QuizData, store_quiz_data, write_quiz_course

ROOT = Path(__file__).resolve().parent.parent
SOURCE_COURSES = ROOT / "courses"
LESSON_COURSE = "python-data-analysis"  # the course whose lesson page is measured
ENROLLMENTS = 20
LEARNER_NAME = "Avery Benchmark-Learner"  # unusual on purpose: the page checks look for it
LEARNER_EMAIL = "avery.learner@example.com"
ADMIN_EMAIL = "bench.admin@example.com"  # awards the learner's credential by hand
PATHWAY_SLUG = "bench-pathway"
FAILED_FIRST = 2  # every FAILED_FIRST-th course: the first quiz failed before it was passed
DONE_FRACTION = (0.30, 0.60)
QUIZ_LEARNER_NAME = "Quinn Quiz-Taker {number:03d}"  # unusual on purpose, like LEARNER_NAME
QUIZ_LEARNER_EMAIL = "quiz.taker.{number:03d}@example.com"


class PrepareError(RuntimeError):
    """The bench data could not be generated; the message says why."""


@dataclass(frozen=True)
class BenchData:
    """What the measuring side needs to know about the generated instance."""

    instance_dir: Path
    database_url: str
    courses_dir: Path
    email: str
    password: str
    name: str
    lesson_path: str
    dashboard_path: str
    course_slugs: tuple[str, ...]
    completed: dict[str, str] = field(default_factory=dict)  # course slug -> "done/total"
    quiz: QuizData | None = None  # the quiz scenario's quiz and learners (who share ``password``)
    queue: QueueData | None = None  # the grader queue's grader (who shares ``password``) and size

    def server_environment(self, secret_key: str) -> dict[str, str]:
        """The ``LMS_*`` variables the measured server runs with (production mode, quiet logs)."""
        return {
            "LMS_ENV": "production",
            "LMS_SECRET_KEY": secret_key,
            "LMS_INSTANCE_DIR": str(self.instance_dir),
            "LMS_DATABASE_URL": self.database_url,
            "LMS_COURSES_DIR": str(self.courses_dir),
            "LMS_PASSWORD_HASH": "fast",
            "LMS_LOG_LEVEL": "WARNING",
        }


def create_bench_app(data: BenchData):
    """The app over the generated instance, in this process, configured as the measured server is
    (production mode, a random secret key); for in-process timing and profiling."""
    from lms import create_app  # noqa: PLC0415
    from lms.config import load_settings  # noqa: PLC0415

    env = data.server_environment(secrets.token_urlsafe(32))
    settings = load_settings({
        "env": env["LMS_ENV"], "instance_dir": data.instance_dir, "database_url": data.database_url,
        "courses_dir": data.courses_dir, "secret_key": env["LMS_SECRET_KEY"], "password_hash": "fast",
        "log_level": "WARNING",
    })
    return create_app(settings)


def copy_course(source: Path, target_parent: Path, slug: str, title: str) -> Path:
    """Copy a course folder under a new slug and title (only course.yml's ``title``/``slug`` change)."""
    target = target_parent / slug
    shutil.copytree(source, target)
    course_yml = target / "course.yml"
    text = course_yml.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(title|slug):.*\n", "", text)
    # JSON strings are valid YAML scalars: a safe way to quote any title.
    course_yml.write_text(f"title: {json.dumps(title)}\nslug: {slug}\n{text}", encoding="utf-8")
    return target


def write_courses(courses_dir: Path, source_dir: Path = SOURCE_COURSES, count: int = ENROLLMENTS) -> list[str]:
    """Put ``count`` courses into ``courses_dir``: the real lesson course and copies of it.

    Returns the course slugs, the real one first.
    """
    source = source_dir / LESSON_COURSE
    if not (source / "course.yml").is_file():
        raise PrepareError(f"{source}/course.yml is missing: the bench measures a lesson of {LESSON_COURSE}")
    courses_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, courses_dir / LESSON_COURSE)
    slugs = [LESSON_COURSE]
    for number in range(1, count):
        slug = f"bench-course-{number}"
        copy_course(source, courses_dir, slug, f"Bench copy {number} of Python for Data Analysis")
        slugs.append(slug)
    return slugs


def write_pathway(courses_dir: Path, slugs: list[str]) -> str:
    """A pathway of the last three courses (the least recently active; the last one's credential is
    the learner's), all required: the dashboard shows it with one of three credentials held."""
    folder = courses_dir / "_pathways"
    folder.mkdir(parents=True, exist_ok=True)
    courses = "".join(f"  - {slug}\n" for slug in slugs[-3:])
    (folder / f"{PATHWAY_SLUG}.yml").write_text(
        "title: Bench Pathway\nsummary: Three copies of Python for Data Analysis, stacked.\n"
        f"courses:\n{courses}require: all\n", encoding="utf-8")
    return PATHWAY_SLUG


def prepare(instance_dir: Path, *, source_dir: Path = SOURCE_COURSES, seed: int = 20240601,
            quiz_learners: int = 8, database_url: str | None = None) -> BenchData:
    """Create the database, courses, learner and progress in ``instance_dir`` (which must be empty or new),
    and the quiz course with ``quiz_learners`` learners enrolled.

    Uses the app's own migrations and services, in one transaction. Deterministic for a given
    ``seed`` except for the password, which is random.
    """
    from lms import create_app  # noqa: PLC0415  (keeps `import bench.data` cheap)
    from lms.config import load_settings  # noqa: PLC0415

    instance_dir = Path(instance_dir).resolve()
    if instance_dir.exists() and any(instance_dir.iterdir()):
        raise PrepareError(f"{instance_dir} is not empty; the bench needs a fresh instance folder")
    instance_dir.mkdir(parents=True, exist_ok=True)
    courses_dir = instance_dir / "courses"
    # SQLite in the instance folder unless told otherwise (an empty PostgreSQL database, to look at
    # its query plans over the same data).
    database_url = database_url or f"sqlite:///{instance_dir / 'skillmark.db'}"
    slugs = write_courses(courses_dir, source_dir)
    write_pathway(courses_dir, slugs)
    write_quiz_course(courses_dir)
    queue_slugs = write_capstone_courses(courses_dir)

    settings = load_settings({
        "env": "development", "instance_dir": instance_dir, "database_url": database_url,
        "courses_dir": courses_dir, "secret_key": secrets.token_urlsafe(32),
        "password_hash": "fast", "log_level": "WARNING",
    })
    app = create_app(settings)
    password = secrets.token_urlsafe(18)
    try:
        with app.app_context():
            lesson_path, completed = _fill_database(app, settings, courses_dir, slugs, password,
                                                       rng=random.Random(seed))
            quiz = _quiz_learners(app, quiz_learners, password)
            queue = _queue(app, queue_slugs, password, rng=random.Random(seed))
    finally:
        from lms.db import get_engine  # noqa: PLC0415

        get_engine(app).dispose()
    return BenchData(
        instance_dir=instance_dir, database_url=database_url, courses_dir=courses_dir,
        email=LEARNER_EMAIL, password=password, name=LEARNER_NAME, lesson_path=lesson_path,
        dashboard_path="/dashboard", course_slugs=tuple(slugs), completed=completed, quiz=quiz, queue=queue,
    )


def _fill_database(app, settings, courses_dir: Path, slugs: list[str], password: str, *,
                   rng: random.Random) -> tuple[str, dict[str, str]]:
    """Migrate, sync the courses, create the learner, enroll and complete lessons. Returns the
    measured lesson's path and the completions per course."""
    from sqlalchemy import select  # noqa: PLC0415

    from lms.auth.services import create_user  # noqa: PLC0415
    from lms.catalog.models import Course  # noqa: PLC0415
    from lms.catalog.services import get_outline, sync_courses, sync_pathways  # noqa: PLC0415
    from lms.content import load_courses  # noqa: PLC0415
    from lms.content.specs import LESSON_PATH  # noqa: PLC0415
    from lms.credentials.services import award_manually  # noqa: PLC0415
    from lms.db import get_db, utcnow  # noqa: PLC0415
    from lms.enrollments.services import complete_item, enroll, record_visit  # noqa: PLC0415
    from lms.migrate import upgrade  # noqa: PLC0415
    from lms.quizzes import services as quizzes  # noqa: PLC0415
    from lms.quizzes.demo import pass_quiz  # noqa: PLC0415

    upgrade(settings.database_url)
    loaded = load_courses(courses_dir)
    if not loaded.ok:
        problems = "\n  ".join(str(p) for p in loaded.errors)
        raise PrepareError(f"the courses copied from {SOURCE_COURSES} do not load:\n  {problems}")
    db = get_db()
    sync_courses(db, loaded.courses, settings.media_dir)
    sync_pathways(db, loaded.pathways or [], settings.media_dir)
    user = create_user(db, app.extensions["lms.password_hasher"], LEARNER_EMAIL, LEARNER_NAME, password,
                       verified=True)
    courses = {c.slug: c for c in db.scalars(select(Course).where(Course.slug.in_(slugs)))}
    lesson_path, completed = "", {}
    # Enroll in reverse so the real course is the most recently active one, as after a lesson visit.
    for slug in reversed(slugs):
        course = courses[slug]
        outline = get_outline(db, course)
        steps = outline.steps
        if len(steps) < 3:
            raise PrepareError(f"course {slug} has {len(steps)} lessons; the bench needs at least 3")
        enrollment = enroll(db, user.id, course, track="credential")
        done = round(len(steps) * rng.uniform(*DONE_FRACTION))
        for step in steps[:done]:
            if step.kind == "lesson":
                complete_item(db, enrollment.id, step.id, "read")
        first_quiz = next((step for step in steps if step.kind == "quiz"), None)
        if first_quiz is not None:
            if slugs.index(slug) % FAILED_FIRST == 0:
                # Submitted unanswered two days ago: every question missed, its review card due now.
                quiz = quizzes.get_quiz(db, first_quiz.id)
                failed_at = utcnow() - timedelta(days=2)
                quizzes.submit_attempt(db, quizzes.start_attempt(db, enrollment.id, quiz, failed_at).id,
                                       failed_at, quiz)
            pass_quiz(db, enrollment.id, first_quiz.id, utcnow())
        completed[slug] = f"{done}/{len(steps)}"
        if slug == LESSON_COURSE:
            lesson = steps[1]  # the learner's second lesson
            lesson_path = LESSON_PATH.format(course=slug, module=lesson.module_slug, item=lesson.slug)
            record_visit(db, enrollment.id, lesson.id)  # so measuring it writes nothing
        else:
            record_visit(db, enrollment.id, steps[min(done, len(steps) - 1)].id)
        db.flush()
    admin = create_user(db, app.extensions["lms.password_hasher"], ADMIN_EMAIL, "Bench Admin",
                        secrets.token_urlsafe(18), verified=True)
    admin.is_admin = True
    db.flush()
    award_manually(db, admin.id, True, courses[slugs[-1]].id, LEARNER_EMAIL,
                   "Bench data: a held credential, so the dashboard shows its credentials and pathways.", utcnow())
    db.commit()
    return lesson_path, dict(reversed(completed.items()))


def _quiz_learners(app, count: int, password: str) -> QuizData:
    """Create and enroll the quiz course's learners (``count`` over HTTP, one in-process)."""
    from sqlalchemy import select  # noqa: PLC0415

    from bench.quiz import QUIZ_COURSE  # noqa: PLC0415
    from lms.auth.services import create_user  # noqa: PLC0415
    from lms.catalog.models import Course  # noqa: PLC0415
    from lms.db import get_db  # noqa: PLC0415
    from lms.enrollments.services import enroll  # noqa: PLC0415

    db = get_db()
    course = db.scalar(select(Course).where(Course.slug == QUIZ_COURSE))
    if course is None:
        raise PrepareError(f"the generated quiz course {QUIZ_COURSE} was not synced")
    hasher = app.extensions["lms.password_hasher"]
    learners = [(QUIZ_LEARNER_EMAIL.format(number=n), QUIZ_LEARNER_NAME.format(number=n)) for n in range(1, count + 1)]
    for email, name in learners:
        user = create_user(db, hasher, email, name, password, verified=True)
        enroll(db, user.id, course, track="credential")
    grader = create_user(db, hasher, *GRADING_LEARNER, password, verified=True)
    grading_enrollment = enroll(db, grader.id, course, track="credential")
    db.flush()
    try:
        quiz = store_quiz_data(db, course, learners, grading_enrollment.id)
    except RuntimeError as exc:
        raise PrepareError(str(exc)) from None
    db.commit()
    return quiz


def _queue(app, slugs: list[str], password: str, *, rng: random.Random) -> QueueData:
    from lms.db import get_db  # noqa: PLC0415

    db = get_db()
    try:
        queue = store_queue_data(db, app.extensions["lms.password_hasher"], password, slugs, rng=rng)
    except RuntimeError as exc:
        raise PrepareError(str(exc)) from None
    db.commit()
    return queue
