"""`flask seed`: generated learners and their history over generated courses, in one transaction.

How the rows stay the product's rows (decision 0023):

* Courses are generated folders (lms.seed.courses) synced by the product's own sync, so courses,
  modules, items, quizzes, questions, capstone versions and achievements are what a sync writes.
* Quiz attempts are copies of template attempts made through the quiz services (start, save, submit)
  by a template learner inside a savepoint that is then rolled back: per quiz, eight answer patterns
  from all right to all wrong, each scored by the quiz engine (layout, seed, points, pass, and every
  answer row with its status and fraction). Copies get their own enrollment, number and times.
* Capstone reviews are scored with the rubric's own ``evaluate`` and ``suggested_outcome``; the
  submitted text is rendered with lms.markup; the audit trail gets the events the services write.
* Credentials are built with lms.credentials (its ``_record`` reads the seeded attempts and reviews
  for the results and evidence, ``build_credential`` makes the document) and each one is signed on
  its own (eddsa-rdfc-2022) in a process pool; the revocation status list is signed once at the end.

Everything comes from one ``random.Random`` per purpose, seeded from ``seed``: the same seed and the
same ``now`` give the same rows (ids included), except the password hash (argon2 salts it).
"""

from __future__ import annotations

import random
import shutil
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from lms.db import suspend_triggers
from lms.errors import DomainError
from lms.seed.courses import MAX_REVISIONS, write_courses
from lms.seed.sizes import Size
from lms.seed.writer import BulkWriter

FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam",
               "Maya", "Nico", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Victor", "Wen", "Yara",
               "Zoe", "Amara", "Bruno", "Carmen", "Dmitri", "Esme", "Farah", "Gustav", "Hana", "Ivan", "Jia"]
LAST_NAMES = ["Adeyemi", "Bianchi", "Chen", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova",
              "Jensen", "Kowalski", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quispe", "Rossi", "Silva",
              "Tanaka", "Usman", "Varga", "Wang", "Xu", "Yilmaz", "Zhou", "Novak", "Murphy", "Kim", "Singh"]
REVIEW_TEXTS = ["Clear and practical. The quizzes made me go back to the lessons, which helped.",
                "Good pace. I would have liked one more worked example in the second module.",
                "The capstone was the best part: I used it at work the week after.",
                "Useful, but some lessons felt short.", "Exactly what I needed before starting a new role.",
                "Solid basics; the feedback on my capstone was specific and kind."]
REPLY_TEXT = "Thank you for the review! We are adding another example to the second module this term."
REVOKE_REASON = "Issued in error: the capstone was found to be another learner's work."
CAPSTONE_TEXT = ("## Plan\n\nI picked a weekly report at work and wrote down what I expected it to show.\n\n"
                 "## What I did\n\nI rebuilt it step by step, checking each result against my notes.\n\n"
                 "## Reflection\n\nNext time I would start with a smaller example and ask a colleague to repeat it.\n")
CAPSTONE_LINK = "https://github.com/seed-learner/capstone"
GRADER_COMMENT = {"passed": "Well planned and clearly explained.",
                  "needs_revision": "Good start. Say more about what you would do differently.",
                  "not_passed": "The plan and the reflection are missing; see the rubric."}
WINDOW_DAYS = 540  # enrollments spread over the last eighteen months
FINISHED_SHARE = 0.5  # enrollments that did every step before the capstone
AUDIT_SHARE = 0.15
ACTIVE_SHARE = 0.3  # still working: active in the last five days
STUCK_SHARE = 0.5  # stopped in front of a quiz they failed
REVIEW_SHARE = 0.4  # learners who completed a course and rated it
REVOKED_SHARE = 0.03
# Wrong answers by question position in a generated quiz (5 questions): from all right to all wrong.
PATTERNS = [(), (0,), (3,), (1,), (0, 4), (1, 3), (0, 2, 4), (0, 1, 2, 3, 4)]


class SeedRefused(DomainError):
    """The database cannot be seeded as it is; the message says why and nothing was written."""


@dataclass
class SeedReport:
    size: Size
    seed: int
    password: str
    learner_email: str
    instructor_email: str
    grader_email: str
    admin_email: str
    credential_path: str | None
    courses_dir: Path
    timings: list[tuple[str, int, float]] = field(default_factory=list)  # (what, rows, seconds)
    total_s: float = 0.0


def database_revision(db: Session) -> tuple[str | None, str]:
    """(the database's Alembic revision or None, the code's head)."""
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from lms.migrate import alembic_config  # noqa: PLC0415

    settings = db.info["settings"]
    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    current = MigrationContext.configure(db.connection()).get_current_revision()
    return current, head


def check_ready(db: Session) -> None:
    """Refuse (SeedRefused) unless the database is at the newest migration and holds no account."""
    from lms.auth.models import User  # noqa: PLC0415

    current, head = database_revision(db)
    if current != head:
        raise SeedRefused(f"the database is at migration {current or '(none)'}, not {head}: run `flask db upgrade` "
                          "first.")
    users = db.scalar(select(func.count()).select_from(User))
    if users:
        raise SeedRefused(f"the database already holds {users} account(s): generated data goes into an empty "
                          "database only (create a new one, `flask db upgrade`, then seed).")


# -- templates through the services ----------------------------------------------------------------------

@dataclass
class QuizTemplate:
    item_id: int
    passed: list[dict]  # attempts that passed, each {"seed", "layout", "points_earned", ..., "answers": [...]}
    failed: list[dict]
    keys: dict[int, str]  # question id -> key


def _wrong_response(question):
    from lms.questions.model import MultipleResponse, Numerical, ShortAnswer, SingleChoice, TrueFalse  # noqa: PLC0415

    if isinstance(question, SingleChoice):
        return min(range(len(question.choices)), key=lambda i: question.choices[i].fraction)
    if isinstance(question, MultipleResponse):
        return [i for i, choice in enumerate(question.choices) if choice.fraction <= 0]
    if isinstance(question, TrueFalse):
        return not question.answer
    if isinstance(question, Numerical):
        return "0"
    if isinstance(question, ShortAnswer):
        return "no idea"
    return None


def quiz_templates(db: Session, hasher, password_hash: str, outlines: dict, now: datetime) -> dict[int, QuizTemplate]:
    """Per quiz item, the template attempts (see the module docstring); nothing stays in the database."""
    from lms.auth.models import User  # noqa: PLC0415
    from lms.enrollments.services import enroll  # noqa: PLC0415
    from lms.quizzes import services as quizzes  # noqa: PLC0415
    from lms.quizzes.demo import right_response  # noqa: PLC0415
    from lms.quizzes.models import AttemptAnswer, QuizAttempt  # noqa: PLC0415

    templates: dict[int, QuizTemplate] = {}
    savepoint = db.begin_nested()
    try:
        user = User(email="seed.template@example.invalid", name="Seed Template", password_hash=password_hash)
        db.add(user)
        db.flush()
        at = now - timedelta(days=1)
        for course, outline in outlines.values():
            enrollment = enroll(db, user.id, course, track="credential")
            for step in outline.steps:
                if step.kind != "quiz":
                    continue
                quiz = quizzes.get_quiz(db, step.id)
                template = QuizTemplate(step.id, [], [], {r.id: r.key for r in quiz.questions})
                for pattern in PATTERNS:
                    attempt = quizzes.start_attempt(db, enrollment.id, quiz, at)
                    records = quizzes.question_records(db, [e["question_id"] for e in attempt.layout])
                    order = [r.id for r in quiz.questions]
                    responses = {}
                    for qid, record in records.items():
                        wrong = order.index(qid) in pattern
                        response = _wrong_response(record.question) if wrong else right_response(record.question,
                                                                                                  record.key)
                        if response is not None:
                            responses[qid] = response
                    quizzes.save_responses(db, attempt, responses, at)
                    attempt = quizzes.submit_attempt(db, attempt.id, at, quiz)
                    row = db.execute(select(QuizAttempt.seed, QuizAttempt.layout, QuizAttempt.points_earned,
                                            QuizAttempt.points_possible, QuizAttempt.pending, QuizAttempt.passed)
                                     .where(QuizAttempt.id == attempt.id)).one()
                    answers = [(a.question_id, a.response, a.fraction, a.status, a.response_html,
                                a.checked_at is not None)
                               for a in db.execute(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)
                                                   .order_by(AttemptAnswer.question_id)).scalars()]
                    shape = {"seed": row.seed, "layout": row.layout, "points_earned": row.points_earned,
                             "points_possible": row.points_possible, "pending": row.pending, "passed": row.passed,
                             "answers": answers}
                    (template.passed if row.passed else template.failed).append(shape)
                if not template.passed or not template.failed:
                    raise RuntimeError(f"quiz {step.id}: the answer patterns give no pass or no fail")
                templates[step.id] = template
    finally:
        savepoint.rollback()
    db.expire_all()
    return templates


# -- the plan ---------------------------------------------------------------------------------------------

@dataclass
class Plan:
    """One enrollment's history."""
    id: int
    user_id: int
    course: int  # index into the course list
    track: str
    enrolled_at: datetime
    last_activity_at: datetime
    done: int  # the first ``done`` steps before the capstone
    stuck: bool  # failed the quiz after its last done step, and stopped there
    versions: int = 0  # capstone versions
    final: str | None = None  # the last version's state
    passed_at: datetime | None = None  # when the capstone passed (its credential's date)
    seen_at: datetime | None = None  # last capstone activity (after the steps)

    def step_time(self, j: int) -> datetime:
        return self.enrolled_at + (self.last_activity_at - self.enrolled_at) * ((j + 1) / (self.done + 1))


def _spread(rng: random.Random, total: int, slots: int, cap: int) -> list[int]:
    """``total`` split over ``slots`` (at least one each when there are enough), at most ``cap`` each."""
    counts = [0] * slots
    if total >= slots:
        counts = [1] * slots
        rest = total - slots
    else:
        for i in rng.sample(range(slots), total):
            counts[i] = 1
        rest = 0
    weights = [rng.lognormvariate(0, 0.8) for _ in range(slots)]
    while rest:
        for i in rng.choices(range(slots), weights, k=rest):
            if counts[i] < cap and rest:
                counts[i] += 1
                rest -= 1
        weights = [w if c < cap else 0 for w, c in zip(weights, counts, strict=True)]
    return counts


def seed(db: Session, hasher, size: Size, *, seed: int, password: str, now: datetime, courses_dir: Path,
         progress=lambda message: None, processes: int | None = None) -> SeedReport:
    """Generate ``size`` into the (migrated, empty) database, in the caller's transaction; the caller commits.
    Course folders are written into ``courses_dir`` (replaced) and synced."""
    from lms.auth.models import User  # noqa: PLC0415
    from lms.catalog.models import Course  # noqa: PLC0415
    from lms.catalog.services import get_outline, sync_courses  # noqa: PLC0415
    from lms.content import load_courses  # noqa: PLC0415
    from lms.enrollments.models import Enrollment  # noqa: PLC0415

    started = time.perf_counter()
    problems = size.problems()
    if problems:
        raise SeedRefused("this size cannot be generated: it needs " + "; ".join(problems) + ".")
    check_ready(db)
    settings = db.info["settings"]
    report = SeedReport(size=size, seed=seed, password=password, learner_email="", instructor_email="",
                        grader_email="", admin_email="", credential_path=None, courses_dir=courses_dir)

    def timed(what: str, rows: int, since: float) -> None:
        report.timings.append((what, rows, time.perf_counter() - since))
        progress(f"{what}: {rows:,} in {time.perf_counter() - since:.1f} s")

    # Courses: written, checked and synced like any course folder.
    t = time.perf_counter()
    staging = courses_dir.with_name(courses_dir.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    slugs = write_courses(staging, size.courses, seed)
    shutil.rmtree(courses_dir, ignore_errors=True)
    staging.rename(courses_dir)
    loaded = load_courses(courses_dir)
    if not loaded.ok:
        raise RuntimeError("generated courses do not load: " + "; ".join(str(p) for p in loaded.errors[:5]))
    sync_courses(db, loaded.courses, settings.media_dir)
    by_slug = {c.slug: c for c in db.scalars(select(Course).where(Course.slug.in_(slugs)))}
    courses = [by_slug[s] for s in slugs]
    outlines = {c.id: (c, get_outline(db, c)) for c in courses}
    timed("courses (written and synced)", len(courses), t)

    t = time.perf_counter()
    password_hash = hasher.hash(password)
    templates = quiz_templates(db, hasher, password_hash, outlines, now)
    timed("quiz templates (through the quiz services, rolled back)", sum(len(x.passed) + len(x.failed)
                                                                         for x in templates.values()), t)

    t = time.perf_counter()
    # The change-stamp triggers (migration 0012) would fire for each of millions of rows; an empty
    # database has no dashboard cached anywhere, so the learners start with no stamp.
    resume_triggers = suspend_triggers(db.connection())
    writer = BulkWriter(db)
    rng = random.Random(f"{seed}:plan")
    steps = [[s for s in outlines[c.id][1].steps if s.kind != "capstone"] for c in courses]
    capstones = [outlines[c.id][1].capstone for c in courses]

    # Accounts: staff, then learners.
    user_id = writer.next_id(User.__table__)
    users: list[tuple] = []  # (id, email, name, is_admin, created_at)
    admin_id = user_id
    users.append((admin_id, "seed.admin@example.com", "Ada Admin", True, now - timedelta(days=WINDOW_DAYS + 30)))
    instructor_ids = [admin_id + 1 + i for i in range(size.instructors)]
    grader_ids = [instructor_ids[-1] + 1 + i for i in range(size.graders)]
    for i, uid in enumerate(instructor_ids):
        users.append((uid, f"seed.instructor.{i + 1:03d}@example.com", f"{rng.choice(FIRST_NAMES)} "
                      f"{rng.choice(LAST_NAMES)} (instructor)", False, now - timedelta(days=WINDOW_DAYS + 20)))
    for i, uid in enumerate(grader_ids):
        users.append((uid, f"seed.grader.{i + 1:03d}@example.com", f"{rng.choice(FIRST_NAMES)} "
                      f"{rng.choice(LAST_NAMES)} (grader)", False, now - timedelta(days=WINDOW_DAYS + 10)))
    first_learner = grader_ids[-1] + 1
    for n in range(size.learners):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        users.append((first_learner + n, f"{first}.{last}.{n + 1:05d}@example.com".lower(), f"{first} {last}",
                      False, None))
    roles: list[tuple] = []  # (user id, course index, role)
    course_graders = []
    for ci in range(len(courses)):
        roles.append((instructor_ids[ci // 5 % len(instructor_ids)], ci, "instructor"))
        pair = [grader_ids[(2 * ci) % len(grader_ids)], grader_ids[(2 * ci + 1) % len(grader_ids)]]
        course_graders.append(pair)
        roles += [(g, ci, "grader") for g in pair]

    # Enrollments: how many per learner, then which courses (popular ones more often).
    per_learner = _spread(rng, size.enrollments, size.learners, size.courses)
    popularity = [1 / (rank + 3) ** 0.8 for rank in range(len(courses))]
    rng.shuffle(popularity)
    enrollment_id = writer.next_id(Enrollment.__table__)
    plans: list[Plan] = []
    for n, k in enumerate(per_learner):
        if not k:
            continue
        chosen = sorted(range(len(courses)), key=lambda c: -rng.random() ** (1 / popularity[c]))[:k]
        for ci in sorted(chosen):
            n_steps = len(steps[ci])
            age = WINDOW_DAYS * (1 - rng.random() ** 0.7)
            enrolled_at = now - timedelta(days=age, hours=1)
            done = n_steps if rng.random() < FINISHED_SHARE else int(n_steps * rng.random() ** 1.6)
            if rng.random() < ACTIVE_SHARE:
                last = now - timedelta(days=rng.uniform(0, min(5, age)))
            else:
                last = min(now - timedelta(hours=1),
                           enrolled_at + timedelta(days=done * rng.uniform(0.3, 2.0) + rng.uniform(0, 3)))
            stuck = done < n_steps and steps[ci][done].kind == "quiz" and rng.random() < STUCK_SHARE
            track = "audit" if rng.random() < AUDIT_SHARE else "credential"
            plans.append(Plan(enrollment_id, first_learner + n, ci, track, enrolled_at, max(last, enrolled_at),
                              done, stuck))
            enrollment_id += 1
    joined = {}  # learners joined a little before their first enrollment
    for p in plans:
        if p.user_id not in joined or p.enrolled_at < joined[p.user_id]:
            joined[p.user_id] = p.enrolled_at
    users = [(u[0], u[1], u[2], u[3], u[4] or (joined.get(u[0], now - timedelta(days=3)) - timedelta(hours=2)))
             for u in users]

    # Quiz attempts: each quiz reached gets one; the rest are earlier failures, until the count is exact.
    def pairs_of(p: Plan) -> list[tuple[int, bool]]:
        found = [(j, True) for j in range(p.done) if steps[p.course][j].kind == "quiz"]
        if p.stuck:
            found.append((p.done, False))
        return found

    base = sum(len(pairs_of(p)) for p in plans)
    while base > size.quiz_attempts:  # fewer attempts than quizzes reached: some stopped earlier
        p = plans[rng.randrange(len(plans))]
        reached = pairs_of(p)
        if not reached:
            continue
        if p.stuck:
            p.stuck = False
        else:
            p.done = reached[-1][0]
        base -= 1
    pairs = [(p, j, passed) for p in plans for j, passed in pairs_of(p)]
    if size.quiz_attempts and not pairs:
        raise SeedRefused("no quiz was reached by any enrollment; ask for more enrollments")
    extra = Counter(rng.choices(range(len(pairs)), [1 if passed else 2 for _p, _j, passed in pairs],
                                k=size.quiz_attempts - base)) if pairs else Counter()
    attempts: list[tuple] = []  # (enrollment id, item id, number, passed, template index, submitted_at, minutes)
    missed: dict[tuple[int, int], dict[str, list]] = {}  # (enrollment, item) -> key -> [first, last, times]
    for index, (p, j, passed) in enumerate(pairs):
        item_id = steps[p.course][j].id
        template = templates[item_id]
        count = 1 + extra[index]
        final_at = p.step_time(j) if passed else p.last_activity_at
        gap = (final_at - p.enrolled_at) / (count + 1)
        for number in range(1, count + 1):
            ok = passed and number == count
            at = final_at - gap * (count - number) * rng.uniform(0.6, 1.0)
            shapes = template.passed if ok else template.failed
            t_index = min(int(rng.random() ** 1.5 * len(shapes)), len(shapes) - 1) if ok else rng.randrange(len(shapes))
            attempts.append((p.id, item_id, number, ok, t_index, at, rng.uniform(3, 15)))
            for qid, _response, _fraction, status, _html, _checked in shapes[t_index]["answers"]:
                if status in ("incorrect", "partial", "unanswered"):
                    card = missed.setdefault((p.id, item_id), {}).setdefault(template.keys[qid], [at, at, 0])
                    card[1] = max(card[1], at)
                    card[0] = min(card[0], at)
                    card[2] += 1

    # Capstones: chains of versions for enrollments on the credential track that did every other step.
    ready = [p for p in plans if p.track == "credential" and p.done == len(steps[p.course])
             and capstones[p.course] is not None]
    need = max(size.credentials, -(-size.submissions // (MAX_REVISIONS + 1)))
    if len(ready) < need:  # promote more enrollments to finished so the counts fit
        others = [p for p in plans if p.track == "credential" and p.done < len(steps[p.course])]
        for p in rng.sample(others, min(len(others), need - len(ready))):
            p.done, p.stuck = len(steps[p.course]), False
            ready.append(p)
        ready.sort(key=lambda p: p.id)
        if len(ready) < need:
            raise SeedRefused(f"{size.submissions} capstone versions need at least {need} enrollments on the "
                              "credential track; ask for more enrollments")
    chains = rng.sample(ready, min(len(ready), size.submissions))
    versions = [1] * len(chains)
    for i in rng.sample([i for i in range(len(chains)) for _ in range(MAX_REVISIONS)],
                        size.submissions - len(chains)):
        versions[i] += 1
    passed_chains = set(rng.sample(range(len(chains)), size.credentials))
    for i, p in enumerate(chains):
        p.versions = versions[i]
        if i in passed_chains:
            p.final = "passed"
        else:
            options = ["draft", "submitted", "in_review", "not_passed"] + (
                ["needs_revision"] if p.versions <= MAX_REVISIONS else [])
            p.final = rng.choices(options, [15, 30, 10, 20, 25][:len(options)])[0]
    timed("plan", len(plans), t)
    written = _write(db, writer, report, rng, size, seed, now, users, roles, plans, courses, outlines, steps,
                     capstones, templates, attempts, missed, chains, course_graders, started, processes, timed,
                     password_hash)
    resume_triggers()
    return written


def _write(db, writer, report, rng, size, seed_value, now, users, roles, plans, courses, outlines, steps,
           capstones, templates, attempts, missed, chains, course_graders, started, processes, timed,
           password_hash):
    from lms.audit.models import AuditEvent  # noqa: PLC0415
    from lms.auth.models import CourseRole, User  # noqa: PLC0415
    from lms.capstones.models import Review, Submission  # noqa: PLC0415
    from lms.capstones.notify import OUTCOME_WORDS  # noqa: PLC0415
    from lms.capstones.paths import capstone_path  # noqa: PLC0415
    from lms.capstones.rubric import evaluate, suggested_outcome  # noqa: PLC0415
    from lms.capstones.services import live_capstone  # noqa: PLC0415
    from lms.catalog.models import Course  # noqa: PLC0415
    from lms.course_reviews.models import CourseReview  # noqa: PLC0415
    from lms.course_reviews.services import REPLY_KIND  # noqa: PLC0415
    from lms.enrollments.models import Enrollment, ItemCompletion  # noqa: PLC0415
    from lms.markup import render_markdown  # noqa: PLC0415
    from lms.notifications.models import Notification  # noqa: PLC0415
    from lms.quizzes.models import AttemptAnswer, QuizAttempt  # noqa: PLC0415
    from lms.spaced_review.models import BOX_INTERVAL_DAYS, ReviewCard  # noqa: PLC0415

    # Capstone versions, reviews, audit events and the learners' notifications.
    t = time.perf_counter()
    records = {ci: live_capstone(db, c.id) for ci, c in enumerate(courses) if capstones[ci] is not None}
    text_html = render_markdown(CAPSTONE_TEXT).html
    comment_html = {k: render_markdown(v, embedded=True).html for k, v in GRADER_COMMENT.items()}
    submission_id = writer.next_id(Submission.__table__)
    review_id = writer.next_id(Review.__table__)
    submissions, reviews, audits, notifications = [], [], [], []
    unread: Counter = Counter()

    def scores_for(capstone, outcome: str) -> dict:
        levels = {c.key: [lv.points for lv in c.levels] for c in capstone.rubric}
        while True:
            scores = {k: rng.choice(v[1:]) if outcome == "passed" else rng.choice(v[:2]) for k, v in levels.items()}
            if (evaluate(capstone, scores).meets_pass_rule) == (outcome == "passed"):
                return scores
            if outcome != "passed":
                return {k: v[0] for k, v in levels.items()}

    def notify(uid, kind, title, body, link, at):
        read_at = at + timedelta(hours=rng.uniform(1, 72)) if (now - at).days > 7 or rng.random() < 0.3 else None
        if read_at is not None and read_at > now:
            read_at = None
        if read_at is None:
            unread[uid] += 1
        notifications.append([uid, kind, title, body, link, at, read_at])

    for p in chains:
        record = records[p.course]
        capstone = record.capstone
        course = courses[p.course]
        graders = course_graders[p.course]
        at = p.last_activity_at + timedelta(hours=rng.uniform(1, 72))
        for v in range(1, p.versions + 1):
            state = p.final if v == p.versions else "needs_revision"
            created = min(at, now - timedelta(minutes=30))
            submitted = decided = claim_until = claimed_by = None
            if state != "draft":
                submitted = min(created + timedelta(hours=rng.uniform(0.5, 30)), now - timedelta(minutes=20))
            if state in ("in_review", "passed", "needs_revision", "not_passed"):
                claimed_by = rng.choice(graders)  # (grading keeps who claimed it)
                claimed_at = min(submitted + timedelta(hours=rng.uniform(1, 60)), now - timedelta(minutes=10))
                claim_until = claimed_at + timedelta(minutes=60)
            if state in ("passed", "needs_revision", "not_passed"):
                decided = min(claimed_at + timedelta(minutes=rng.uniform(5, 50)), now - timedelta(minutes=5))
                claim_until = None
            sid = submission_id
            submission_id += 1
            updated = decided or (claimed_at if state == "in_review" else None) or submitted or created
            submissions.append((sid, p.id, record.item_id, course.id, v, state, record.version_id, CAPSTONE_TEXT,
                                text_html, [CAPSTONE_LINK], [] if submitted else None, created, updated, submitted,
                                claimed_by, claim_until, decided))
            learner = p.user_id
            audits.append((created, learner, "capstone.draft_started", sid, {"version": v, "to_state": "draft"}))
            if submitted:
                audits.append((submitted, learner, "capstone.submitted", sid,
                               {"version": v, "from_state": "draft", "to_state": "submitted"}))
            if claimed_by:
                audits.append((claimed_at, claimed_by, "capstone.claimed", sid,
                               {"from_state": "submitted", "to_state": "in_review",
                                "until": (claimed_at + timedelta(minutes=60)).isoformat()}))
            if decided:
                scores = scores_for(capstone, state)
                result = evaluate(capstone, scores)
                suggested = suggested_outcome(result, v, capstone.max_revisions)
                reviews.append((review_id, sid, claimed_by, record.version_id, scores, {}, GRADER_COMMENT[state],
                                comment_html[state], result.points, result.max_points, result.meets_pass_rule,
                                suggested, state, decided))
                review_id += 1
                audits.append((decided, claimed_by, "capstone.graded", sid,
                               {"from_state": "in_review", "to_state": state, "points": result.points,
                                "overridden": False}))
                words = OUTCOME_WORDS[state]
                lines = [f"Your capstone for {course.title} (version {v}) was graded: {words}, "
                         f"{result.points:g} of {result.max_points:g} points."]
                if state == "needs_revision":
                    lines.append("Read the grader's feedback, then start a revision from the capstone page.")
                elif state == "passed":
                    lines.append("Well done. You can share it publicly from the capstone page if you wish.")
                lines.append(f"The grader wrote:\n\n{GRADER_COMMENT[state]}")
                notify(learner, "submission_graded", f"Your capstone for {course.title} was graded: {words}",
                       "\n\n".join(lines), capstone_path(course.slug), decided)
                if state == "passed":
                    p.passed_at = decided
                at = decided + timedelta(hours=rng.uniform(2, 96))
            p.seen_at = max(p.seen_at or created, submitted or created)
    timed("capstone plan", len(submissions), t)

    # Credentials to issue: ids, status bits, revocations (the documents come after the rows they read).
    from lms.credentials import status_list as status_lists  # noqa: PLC0415
    from lms.credentials.issuance import LIST_FILL_LIMIT  # noqa: PLC0415
    from lms.credentials.models import Achievement, AchievementVersion, Credential, StatusList  # noqa: PLC0415

    achievements = {course_id: (aid, vid, spec) for course_id, aid, vid, spec in db.execute(
        select(Achievement.course_id, Achievement.id, AchievementVersion.id, AchievementVersion.spec)
        .join(AchievementVersion, AchievementVersion.achievement_id == Achievement.id)
        .where(AchievementVersion.retired_at.is_(None), Achievement.course_id.in_([c.id for c in courses])))}
    holders = sorted((p for p in chains if p.final == "passed"), key=lambda p: (p.passed_at, p.id))
    revoked = set(rng.sample(range(len(holders)), round(len(holders) * REVOKED_SHARE)))
    uuid_rng = random.Random(f"{seed_value}:uuid")
    lists_needed = max(1, -(-len(holders) // LIST_FILL_LIMIT))
    listings = []
    for _ in range(lists_needed):
        listing = StatusList(purpose="revocation", entries=status_lists.MIN_ENTRIES,
                             bits=bytes(status_lists.empty_bitstring()), updated_at=now)
        db.add(listing)
        listings.append(listing)
    db.flush()
    bits = [status_lists.empty_bitstring() for _ in listings]
    indexes = [uuid_rng.sample(range(status_lists.MIN_ENTRIES), min(LIST_FILL_LIMIT, len(holders)))
               for _ in listings]
    issued = []  # (plan, public id, list index, bit, revoked)
    for n, p in enumerate(holders):
        li, bit = divmod(n, LIST_FILL_LIMIT)
        public_id = str(uuid.UUID(int=uuid_rng.getrandbits(128), version=4))
        issued.append((p, public_id, li, indexes[li][bit], n in revoked))
        if n in revoked:
            status_lists.set_bit(bits[li], indexes[li][bit])

    # Enrollment-level rows: completions, review cards, course reviews.
    t = time.perf_counter()
    completions = []
    for p in plans:
        for j in range(p.done):
            step = steps[p.course][j]
            completions.append((p.id, step.id, "passed" if step.kind == "quiz" else "read", p.step_time(j)))
        if p.passed_at is not None:
            completions.append((p.id, capstones[p.course].id, "passed", p.passed_at))
    cards = []
    for (eid, item_id), keys in missed.items():
        for key, (first, last, times) in sorted(keys.items()):
            box, reviews_given, reviewed_at = 1, 0, None
            if (now - last).days > 20 and rng.random() < 0.6:
                box = rng.randint(2, 5)
                reviews_given = box - 1
                reviewed_at = last + timedelta(days=sum(BOX_INTERVAL_DAYS[b] for b in range(1, box)))
            due = (reviewed_at or last) + timedelta(days=BOX_INTERVAL_DAYS.get(box, 0) if reviewed_at else 1)
            cards.append((eid, item_id, key, box, due, reviews_given, times - 1, first, reviewed_at, last))
    course_reviews, ratings = [], defaultdict(lambda: [0, 0])
    instructor_of = {ci: uid for uid, ci, role in roles if role == "instructor"}
    review_html = {body: render_markdown(body).html for body in REVIEW_TEXTS}
    reply_html = render_markdown(REPLY_TEXT).html
    for p in plans:
        complete = p.passed_at is not None if p.track == "credential" else p.done == len(steps[p.course])
        if not complete or rng.random() >= REVIEW_SHARE:
            continue
        rating = rng.choices([5, 4, 3, 2, 1], [40, 30, 15, 8, 7])[0]
        body = rng.choice(REVIEW_TEXTS) if rng.random() < 0.5 else ""
        at = min(now - timedelta(minutes=1), (p.passed_at or p.last_activity_at) + timedelta(days=rng.uniform(0, 10)))
        reply = rng.random() < 0.2
        replied_at = min(now, at + timedelta(days=rng.uniform(0.1, 5))) if reply else None
        course_reviews.append((courses[p.course].id, p.user_id, rating, body, review_html.get(body, ""), at, at,
                               REPLY_TEXT if reply else None, reply_html if reply else None,
                               instructor_of[p.course] if reply else None, replied_at))
        ratings[courses[p.course].id][0] += 1
        ratings[courses[p.course].id][1] += rating
        if reply:
            notify(p.user_id, REPLY_KIND, f"A reply to your review of {courses[p.course].title}",
                   REPLY_TEXT, f"/courses/{courses[p.course].slug}/reviews#your-review", replied_at)
    for n, (p, public_id, _li, _bit, was_revoked) in enumerate(issued):
        if was_revoked:
            name = achievements[courses[p.course].id][2]["name"]
            notify(p.user_id, "credential_revoked", f"Your credential “{name}” was revoked",
                   f"Reason given: {REVOKE_REASON}", f"/credentials/{public_id}", revoked_time(p, n, now))
    timed("enrollment rows plan", len(completions) + len(cards) + len(course_reviews), t)

    # -- the rows, in foreign-key order ---------------------------------------------------------------------
    shown_holder = next((p.user_id for p, _pid, _li, _bit, was_revoked in issued if not was_revoked), None)
    learner_ids = {p.user_id for p in plans}
    report.learner_email = next(u[1] for u in users if u[0] == shown_holder or (shown_holder is None
                                                                                and u[0] in learner_ids))
    report.admin_email = users[0][1]
    report.instructor_email = next(u[1] for u in users if u[0] == roles[0][0])
    report.grader_email = next(u[1] for u in users if u[0] == course_graders[0][0])

    writer.write(User.__table__, ["id", "email", "name", "password_hash", "is_admin", "email_verified_at",
                                  "password_changed_at", "created_at", "unread_notifications"],
                 ((uid, email, name, password_hash, admin, created, created, created, unread[uid])
                  for uid, email, name, admin, created in users))
    writer.write(CourseRole.__table__, ["user_id", "course_id", "role", "granted_at", "granted_by_id"],
                 ((uid, courses[ci].id, role, now - timedelta(days=WINDOW_DAYS), users[0][0])
                  for uid, ci, role in roles))
    last_item = {}
    for p in plans:
        course_steps = outlines[courses[p.course].id][1].steps
        last_item[p.id] = course_steps[min(p.done, len(course_steps) - 1)].id
    writer.write(Enrollment.__table__, ["id", "user_id", "course_id", "track", "last_item_id", "enrolled_at",
                                        "last_activity_at"],
                 ((p.id, p.user_id, courses[p.course].id, p.track, last_item[p.id], p.enrolled_at,
                   max(p.last_activity_at, p.seen_at or p.last_activity_at)) for p in plans))
    writer.write(ItemCompletion.__table__, ["enrollment_id", "item_id", "how", "completed_at"], completions)
    attempt_id = writer.next_id(QuizAttempt.__table__)
    first_attempt = attempt_id

    def attempt_rows():
        for i, (eid, item_id, number, ok, t_index, at, minutes) in enumerate(attempts):
            shape = (templates[item_id].passed if ok else templates[item_id].failed)[t_index]
            yield (first_attempt + i, eid, item_id, number, shape["seed"], "submitted", shape["layout"],
                   at - timedelta(minutes=minutes), at, shape["points_earned"], shape["points_possible"],
                   shape["pending"], shape["passed"])

    writer.write(QuizAttempt.__table__, ["id", "enrollment_id", "quiz_item_id", "number", "seed", "state", "layout",
                                         "started_at", "submitted_at", "points_earned", "points_possible", "pending",
                                         "passed"], attempt_rows())

    first_answer = writer.next_id(AttemptAnswer.__table__)  # (not inside the generator: it runs during COPY)

    def answer_rows():
        answer_id = first_answer
        for i, (_eid, item_id, _number, ok, t_index, at, _minutes) in enumerate(attempts):
            shape = (templates[item_id].passed if ok else templates[item_id].failed)[t_index]
            saved = at - timedelta(seconds=30)
            for qid, response, fraction, status, html, checked in shape["answers"]:
                yield (answer_id, first_attempt + i, qid, response, saved, at if checked else None, fraction, status,
                       html)
                answer_id += 1

    writer.write(AttemptAnswer.__table__, ["id", "attempt_id", "question_id", "response", "saved_at", "checked_at",
                                           "fraction", "status", "response_html"], answer_rows())
    writer.write(ReviewCard.__table__, ["enrollment_id", "quiz_item_id", "question_key", "box", "due_at", "reviews",
                                        "lapses", "created_at", "last_reviewed_at", "missed_at"], cards)
    writer.write(Submission.__table__, ["id", "enrollment_id", "item_id", "course_id", "version", "state",
                                        "capstone_version_id", "text", "text_html", "links", "checks", "created_at",
                                        "updated_at", "submitted_at", "claimed_by_id", "claim_expires_at",
                                        "decided_at"], submissions)
    writer.write(Review.__table__, ["id", "submission_id", "grader_id", "capstone_version_id", "scores",
                                    "criterion_comments", "comment", "comment_html", "points", "max_points",
                                    "meets_rule", "suggested_outcome", "outcome", "graded_at"], reviews)
    writer.write(AuditEvent.__table__, ["at", "actor_id", "action", "subject_type", "subject_id", "data"],
                 ((at, actor, action, "submission", sid, data) for at, actor, action, sid, data in audits))
    writer.write(CourseReview.__table__, ["course_id", "user_id", "rating", "body", "body_html", "created_at",
                                          "updated_at", "reply", "reply_html", "replied_by_id", "replied_at"],
                 course_reviews)
    for course_id, (count, total) in ratings.items():
        db.execute(update(Course).where(Course.id == course_id).values(rating_count=count, rating_total=total)
                   .execution_options(synchronize_session=False))
    writer.write(Notification.__table__, ["user_id", "kind", "title", "body", "link", "created_at", "read_at"],
                 notifications)

    # Credentials: results and evidence read back by the credentials code, then signed in a pool.
    t = time.perf_counter()
    _credentials(db, writer, report, issued, listings, bits, courses, achievements, roles, now, processes)
    timed("credentials (built and signed)", len(issued), t)

    t = time.perf_counter()
    writer.fix_sequences([User.__table__, CourseRole.__table__, Enrollment.__table__, ItemCompletion.__table__,
                          QuizAttempt.__table__, AttemptAnswer.__table__, ReviewCard.__table__,
                          Submission.__table__, Review.__table__, AuditEvent.__table__, CourseReview.__table__,
                          Notification.__table__, Credential.__table__, StatusList.__table__])
    db.flush()
    if writer.postgresql:
        db.execute(text("ANALYZE"))  # fresh statistics, so the first pages after a seed get good plans
    timed("sequences and statistics", 0, t)

    t = time.perf_counter()
    from lms.instructor.services import refresh_course_stats  # noqa: PLC0415

    for course in courses:
        refresh_course_stats(db, course.id, now)
    timed("course dashboard snapshots", len(courses), t)
    for table, (rows, seconds) in writer.timings.items():
        report.timings.append((f"table {table}", rows, seconds))
    report.total_s = time.perf_counter() - started
    return report


def _credentials(db, writer, report, issued, listings, bits, courses, achievements, roles, now, processes):
    from lms.credentials.document import (  # noqa: PLC0415
        AchievementSpec,
        CredentialContent,
        IssuerProfile,
        Skill,
        StatusEntry,
        build_credential,
    )
    from lms.credentials.issuance import _record, add_months, publish_status_list, signing_issuer  # noqa: PLC0415
    from lms.credentials.models import Achievement, Credential  # noqa: PLC0415
    from lms.seed.signing import sign_all  # noqa: PLC0415

    settings = db.info["settings"]
    issuer = signing_issuer(settings)
    instructor_of = {ci: uid for uid, ci, role in roles if role == "instructor"}
    names = dict(db.execute(text("SELECT id, name FROM users")).all())
    emails = dict(db.execute(text("SELECT id, email FROM users")).all())
    slugs = dict(db.execute(select(Achievement.id, Achievement.slug)).all())
    salt_rng = random.Random(f"{report.seed}:salt")
    jobs, rows = [], []
    first_id = writer.next_id(Credential.__table__)
    for n, (p, public_id, li, bit, was_revoked) in enumerate(issued):
        course = courses[p.course]
        achievement_id, version_id, spec = achievements[course.id]
        achievement_url = f"{settings.public_url}/achievements/{slugs[achievement_id]}"
        descriptions, results, evidence = _record(db, settings, p.id, course.id, spec, achievement_url)
        valid_until = add_months(p.passed_at, spec["valid_for_months"]) if spec.get("valid_for_months") else None
        achievement = AchievementSpec(
            id=achievement_url, name=spec["name"], description=spec["description"], criteria=spec["criteria"],
            image_url=spec.get("image_url") and f"{settings.public_url}{spec['image_url']}",
            skills=tuple(Skill(s["name"], s.get("url"), s.get("framework"), s.get("code")) for s in spec["skills"]),
            results=descriptions)
        content = CredentialContent(
            id=f"{settings.public_url}/credentials/{public_id}",
            issuer=IssuerProfile(issuer.id, settings.issuer_name, settings.public_url),
            achievement=achievement, learner_name=names[p.user_id], learner_email=emails[p.user_id],
            email_salt=f"{salt_rng.getrandbits(64):016x}", valid_from=p.passed_at, valid_until=valid_until,
            results=results, evidence=evidence,
            status=StatusEntry(f"{settings.public_url}/credentials/status/{listings[li].id}", bit))
        jobs.append((build_credential(content), p.passed_at))
        revoked_at = revoked_time(p, n, now) if was_revoked else None
        rows.append([first_id + n, public_id, p.user_id, achievement_id, version_id, None, listings[li].id, bit,
                     p.passed_at, p.passed_at, valid_until, n % 20 != 7, revoked_at,
                     instructor_of[p.course] if was_revoked else None, REVOKE_REASON if was_revoked else None])
    for row, document in zip(rows, sign_all(jobs, issuer.keyring.current.private_key, issuer.verification_method(),
                                            processes), strict=True):
        row[5] = document
    writer.write(Credential.__table__, ["id", "public_id", "user_id", "achievement_id", "achievement_version_id",
                                        "document", "status_list_id", "status_index", "issued_at", "valid_from",
                                        "valid_until", "public", "revoked_at", "revoked_by_id", "revoke_reason"],
                 (tuple(r) for r in rows))
    for listing, bitstring in zip(listings, bits, strict=True):
        listing.bits = bytes(bitstring)
        publish_status_list(db, listing, issuer, settings, now)
    db.flush()
    shown = next((r for r in rows if r[11] and r[12] is None), None)
    report.credential_path = f"/credentials/{shown[1]}" if shown else None


def revoked_time(p: Plan, n: int, now: datetime) -> datetime:
    return min(now, p.passed_at + timedelta(days=1 + n % 29))


def vacuum(engine) -> bool:
    """On PostgreSQL, ``VACUUM (ANALYZE)`` the loaded database, as autovacuum would soon after a bulk
    load: until the visibility map is set, the covering indexes (the grader queue's, for one) cannot
    be read without visiting the table, so pages measured right after a seed would run slower than on
    a database in use. It cannot run in a transaction, hence after the commit. SQLite: nothing."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    return True


def anchor_now() -> datetime:
    """The moment a run's data is relative to: now, to the minute."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def default_password(seed_value: int) -> str:
    """The generated accounts' shared password: derived from the seed, so two runs agree."""
    rng = random.Random(f"{seed_value}:password")
    return "seed-" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(14))


