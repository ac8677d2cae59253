"""Quiz attempts: starting, saving, checking, submitting, grading. No HTTP objects here.

The attempt lives on the server: its questions and option orders are drawn once from a stored
seed, answers are saved as the learner goes, the deadline is enforced here (with a short grace for
the request in flight), and submission is a conditional update, so a double click or two tabs grade
once: the loser re-reads and answers with what already happened.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from blinker import Namespace
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from lms.audit import services as audit
from lms.auth.models import User
from lms.catalog.models import Item
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment
from lms.errors import Conflict, DomainError, NotFound
from lms.markup import render_markdown
from lms.questions.formats.canonical import question_from_json
from lms.questions.model import FillInBlanks, Matching, MultipleResponse, Ordering, Question, SingleChoice
from lms.questions.scoring import score
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt, QuizConfig
from lms.quizzes.sync import QUIZ_DEFAULTS

GRACE = timedelta(seconds=30)  # answers sent just after the deadline (network, slow phone) still count

signals = Namespace()
# Sent inside the transaction that graded the attempt: progress and credentials subscribe.
quiz_submitted = signals.signal("quiz-submitted")


class QuizUnavailable(DomainError):
    status_code = 409


class AttemptLimitReached(QuizUnavailable):
    pass


class TooSoon(QuizUnavailable):
    def __init__(self, message: str, retry_at: datetime):
        super().__init__(message)
        self.retry_at = retry_at


class AttemptClosed(Conflict):
    """The attempt was already submitted (or its time ran out and it was submitted)."""


@dataclass(frozen=True)
class QuestionRecord:
    """A question version as the engine uses it, parsed once per process. The columns it holds never
    change after the row is written (a changed question is a new row), so it is safe to cache."""

    id: int
    key: str
    version: int
    type: str
    points: float
    question: Question
    html: dict


@dataclass(frozen=True)
class QuizInfo:
    item_id: int
    settings: dict
    questions: tuple[QuestionRecord, ...]  # live versions, in the author's order

    @property
    def pass_score(self) -> float:
        return float(self.settings["pass_score"])


_records: dict[int, QuestionRecord] = {}
_quizzes: dict[int, tuple[str, QuizInfo]] = {}  # item id -> (course content hash, quiz)
RECORD_CACHE_MAX = 20_000


def _record(version: QuestionVersion) -> QuestionRecord:
    return QuestionRecord(version.id, version.key, version.version, version.type, version.points,
                          question_from_json(version.spec, version.key), version.html)


def question_records(db: Session, ids) -> dict[int, QuestionRecord]:
    """Records of these question versions (one query for those this process has not seen)."""
    missing = [i for i in ids if i not in _records]
    if missing:
        if len(_records) > RECORD_CACHE_MAX:
            _records.clear()
        for version in db.scalars(select(QuestionVersion).where(QuestionVersion.id.in_(missing))):
            _records[version.id] = _record(version)
    return {i: _records[i] for i in ids if i in _records}


def get_quiz(db: Session, item_id: int, content_hash: str | None = None) -> QuizInfo:
    """The quiz's settings and live questions. With the course's content hash (which every sync that
    changes the quiz changes), the result is kept per process."""
    if content_hash is not None:
        cached = _quizzes.get(item_id)
        if cached is not None and cached[0] == content_hash:
            return cached[1]
    config = db.get(QuizConfig, item_id)
    if config is None:
        raise NotFound("This quiz has not been synced yet.")
    ids = list(db.scalars(select(QuestionVersion.id).where(
        QuestionVersion.quiz_item_id == item_id, QuestionVersion.retired_at.is_(None))
        .order_by(QuestionVersion.position)))
    records = question_records(db, ids)
    quiz = QuizInfo(item_id, {**QUIZ_DEFAULTS, **config.settings}, tuple(records[i] for i in ids))
    if content_hash is not None:
        _quizzes[item_id] = (content_hash, quiz)
    return quiz


def load_question(version: QuestionVersion) -> Question:
    return question_from_json(version.spec, version.key)


# -- the attempt's layout ---------------------------------------------------------------------------

def build_layout(questions: tuple[QuestionRecord, ...], settings: dict, seed: int) -> list[dict]:
    """Which questions, in which order, with which option orders: decided once per attempt."""
    rng = random.Random(seed)
    pool = list(questions)
    if settings.get("draw") and settings["draw"] < len(pool):
        pool = [pool[i] for i in sorted(rng.sample(range(len(pool)), settings["draw"]))]  # (author's order)
    if settings.get("shuffle_questions"):
        rng.shuffle(pool)
    return [{"question_id": record.id, "order": _option_order(record.question, settings, rng)} for record in pool]


def _shuffled(n: int, rng: random.Random, *, avoid_identity: bool = False) -> list[int]:
    order = list(range(n))
    rng.shuffle(order)
    if avoid_identity and n > 1 and order == sorted(order):
        order = order[1:] + order[:1]  # an ordering question must not start out solved
    return order


def _option_order(question: Question, settings: dict, rng: random.Random):
    shuffle = settings.get("shuffle_options", True)
    if isinstance(question, (SingleChoice, MultipleResponse)):
        return _shuffled(len(question.choices), rng) if shuffle else list(range(len(question.choices)))
    if isinstance(question, Matching):
        return _shuffled(len(question.pairs), rng)  # the answers' order; never in prompt order
    if isinstance(question, Ordering):
        return _shuffled(len(question.items), rng, avoid_identity=True)
    if isinstance(question, FillInBlanks):
        return [_shuffled(len(gap.choices), rng) if gap.kind == "select" and shuffle else
                list(range(len(gap.choices))) for gap in question.gaps]
    return None


# -- starting -------------------------------------------------------------------------------------

def attempts_of(db: Session, enrollment_id: int, item_id: int) -> list[QuizAttempt]:
    return list(db.scalars(select(QuizAttempt).where(QuizAttempt.enrollment_id == enrollment_id,
                                                     QuizAttempt.quiz_item_id == item_id)
                           .order_by(QuizAttempt.number)))


def open_attempt(db: Session, enrollment_id: int, item_id: int) -> QuizAttempt | None:
    return db.scalar(select(QuizAttempt).where(QuizAttempt.enrollment_id == enrollment_id,
                                               QuizAttempt.quiz_item_id == item_id, QuizAttempt.state == "open"))


# Hot statements are built once (composing them costs more than running them).
_ATTEMPT_SUMMARY = (
    select(func.count(QuizAttempt.id).filter(QuizAttempt.state == "submitted"), func.max(QuizAttempt.number),
           func.max(QuizAttempt.submitted_at), func.max(QuizAttempt.id).filter(QuizAttempt.state == "open"))
    .where(QuizAttempt.enrollment_id == bindparam("enrollment_id"), QuizAttempt.quiz_item_id == bindparam("item_id"))
)
_ANSWERS = select(AttemptAnswer).where(AttemptAnswer.attempt_id == bindparam("attempt_id"))
# What grading needs of the saved answers, as plain rows (no ORM objects to build and track).
_SAVED_ANSWERS = (select(AttemptAnswer.question_id, AttemptAnswer.response, AttemptAnswer.checked_at,
                         AttemptAnswer.fraction, AttemptAnswer.status, AttemptAnswer.response_html)
                  .where(AttemptAnswer.attempt_id == bindparam("attempt_id")))
_ATTEMPT_TABLE = QuizAttempt.__table__
# Upserts are spelled per dialect; both supported databases have INSERT ... ON CONFLICT.
_DIALECTS = {"sqlite": sqlite, "postgresql": postgresql}
# A start that loses to a concurrent one (same number, or a second open attempt) inserts nothing.
_NEW_ATTEMPT = {name: dialect.insert(_ATTEMPT_TABLE).on_conflict_do_nothing().returning(_ATTEMPT_TABLE.c.id)
                for name, dialect in _DIALECTS.items()}
_RESULT_VALUES = {"points_earned": bindparam("earned"), "points_possible": bindparam("possible"),
                  "pending": bindparam("pending_essays"), "passed": bindparam("passed_now")}
# Submitting claims the attempt and records its result in one conditional update: the request that
# changes the row grades it, any other finds it already submitted.
_SUBMIT = (_ATTEMPT_TABLE.update()
           .where(_ATTEMPT_TABLE.c.id == bindparam("attempt_id"), _ATTEMPT_TABLE.c.state == "open")
           .values(state="submitted", submitted_at=bindparam("now"), **_RESULT_VALUES))
_SET_RESULT = _ATTEMPT_TABLE.update().where(_ATTEMPT_TABLE.c.id == bindparam("attempt_id")).values(**_RESULT_VALUES)
_ANSWER_TABLE = AttemptAnswer.__table__
_SCORED_COLUMNS = ("response", "fraction", "status", "checked_at", "response_html")


def _answers_upsert(dialect):
    """Write scored answers: a new row, or the scores on the row an autosave wrote meanwhile."""
    statement = dialect.insert(_ANSWER_TABLE)
    return statement.on_conflict_do_update(index_elements=["attempt_id", "question_id"],
                                           set_={name: statement.excluded[name] for name in _SCORED_COLUMNS})


_WRITE_ANSWERS = {name: _answers_upsert(dialect) for name, dialect in _DIALECTS.items()}
# Answers are written only while this changes a row: it waits for a submit in flight (PostgreSQL
# locks the row, SQLite has one writer) and then sees that the attempt is no longer open.
_STILL_OPEN = (_ATTEMPT_TABLE.update()
               .where(_ATTEMPT_TABLE.c.id == bindparam("attempt_id"), _ATTEMPT_TABLE.c.state == "open")
               .values(state="open"))
ATTEMPT_BY_NUMBER = select(QuizAttempt).where(
    QuizAttempt.enrollment_id == bindparam("enrollment_id"), QuizAttempt.quiz_item_id == bindparam("item_id"),
    QuizAttempt.number == bindparam("number"))


def start_attempt(db: Session, enrollment_id: int, quiz: QuizInfo, now: datetime) -> QuizAttempt:
    """The learner's open attempt, or a new one if the quiz's rules allow it."""
    connection = db.connection()
    used, last_number, last_submitted, open_id = connection.execute(
        _ATTEMPT_SUMMARY, {"enrollment_id": enrollment_id, "item_id": quiz.item_id}).one()
    if open_id is not None:
        current = db.get(QuizAttempt, open_id)
        if not expired(current, now):
            return current
        submit_attempt(db, current.id, now, quiz)
        used, last_submitted = used + 1, now
    if not quiz.questions:
        raise QuizUnavailable("This quiz has no questions yet.")
    allowed = quiz.settings.get("attempts") or 0
    if allowed and used >= allowed:
        raise AttemptLimitReached(f"You have used all {allowed} attempts at this quiz.")
    delay = quiz.settings.get("delay") or 0
    if delay and last_submitted is not None:
        retry_at = last_submitted + timedelta(minutes=delay)
        if now < retry_at:
            minutes = max(1, int((retry_at - now).total_seconds() // 60) + 1)
            raise TooSoon(f"You can start your next attempt in {minutes} minute{'s' if minutes > 1 else ''}.",
                          retry_at)
    seed = secrets.randbits(31)
    time_limit = quiz.settings.get("time_limit")
    values = {"enrollment_id": enrollment_id, "quiz_item_id": quiz.item_id, "number": (last_number or 0) + 1,
              "seed": seed, "state": "open", "layout": build_layout(quiz.questions, quiz.settings, seed),
              "started_at": now, "deadline": now + timedelta(minutes=time_limit) if time_limit else None,
              "submitted_at": None, "points_earned": None, "points_possible": None, "pending": 0, "passed": None}
    # One INSERT that yields to a concurrent start (the unique indexes decide) instead of an ORM flush
    # inside a savepoint: starting is on every learner's path and this is half its cost.
    new_id = connection.execute(_NEW_ATTEMPT[connection.dialect.name], values).scalar()
    if new_id is None:  # the same start twice at once: the other request's attempt is the one
        existing = open_attempt(db, enrollment_id, quiz.item_id)
        if existing is None:
            raise QuizUnavailable("Another attempt at this quiz was started at the same moment; try again.")
        return existing
    attempt = QuizAttempt(id=new_id, **values)
    make_transient_to_detached(attempt)  # the row as just written, without reading it back
    db.add(attempt)
    return attempt


def expired(attempt: QuizAttempt, now: datetime) -> bool:
    return attempt.deadline is not None and now > attempt.deadline + GRACE


# -- answering ------------------------------------------------------------------------------------

def answers_of(db: Session, attempt_id: int) -> dict[int, AttemptAnswer]:
    return {a.question_id: a for a in db.scalars(_ANSWERS, {"attempt_id": attempt_id})}


def _require_open(db: Session, attempt: QuizAttempt, now: datetime) -> None:
    """Before answers are written: the attempt is open, in time, and no other request submitted it."""
    if attempt.state == "open" and expired(attempt, now):
        submit_attempt(db, attempt.id, now)
        raise AttemptClosed("Time is up: your saved answers were submitted.")
    if attempt.state != "open" or db.connection().execute(_STILL_OPEN, {"attempt_id": attempt.id}).rowcount != 1:
        raise AttemptClosed("This attempt has already been submitted.")


def _essay_html(record: QuestionRecord, response) -> str | None:
    """Learner-written text reaches pages only through lms.markup, rendered once when saved."""
    if record.type != "essay" or not isinstance(response, str):
        return None
    return render_markdown(response, embedded=True).html


def save_responses(db: Session, attempt: QuizAttempt, responses: dict[int, Any], now: datetime) -> int:
    """Save answers (question version id -> canonical response); answers already final are kept.
    Returns how many were saved."""
    _require_open(db, attempt, now)
    in_attempt = {entry["question_id"] for entry in attempt.layout}
    existing = answers_of(db, attempt.id)
    records = question_records(db, [qid for qid in responses if qid in in_attempt])
    saved = 0
    for question_id, response in responses.items():
        if question_id not in in_attempt:
            continue
        answer = existing.get(question_id)
        if answer is None:
            answer = AttemptAnswer(attempt_id=attempt.id, question_id=question_id, saved_at=now)
            db.add(answer)
        elif answer.checked_at is not None:
            continue
        answer.response, answer.saved_at = response, now
        answer.response_html = _essay_html(records[question_id], response)
        saved += 1
    db.flush()
    return saved


def check_answer(db: Session, attempt: QuizAttempt, question_id: int, now: datetime) -> AttemptAnswer:
    """Immediate feedback: the answer becomes final and is scored now."""
    _require_open(db, attempt, now)
    answer = answers_of(db, attempt.id).get(question_id)
    if answer is None:
        raise DomainError("Answer the question before checking it.")
    if answer.checked_at is None:
        result = score(question_records(db, [question_id])[question_id].question, answer.response)
        answer.checked_at, answer.fraction, answer.status = now, result.fraction, result.status
    return answer


# -- submitting -----------------------------------------------------------------------------------

def submit_attempt(db: Session, attempt_id: int, now: datetime, quiz: QuizInfo | None = None,
                   responses: dict[int, Any] | None = None) -> QuizAttempt:
    """Submit (with the last answers sent, if any) and grade, exactly once: the conditional update
    decides which request grades; the others get the attempt as that one left it."""
    attempt = db.get(QuizAttempt, attempt_id)
    if attempt.state == "open":
        quiz = quiz or get_quiz(db, attempt.quiz_item_id)
        grading = _grade(db, attempt, now, quiz, responses or {})
        result = _result(quiz, grading.earned, grading.possible, grading.pending)
        if db.connection().execute(_SUBMIT, {"attempt_id": attempt.id, "now": now, **result}).rowcount == 1:
            grading.write(db)
            _after_result(db, attempt, quiz, result, {"state": "submitted", "submitted_at": now})
            return attempt
    db.refresh(attempt)  # another request submitted it: answer with what it recorded
    return attempt


@dataclass
class _Grading:
    """An attempt's answers scored: the rows to write and the totals."""

    rows: list[dict]
    earned: float = 0.0
    possible: float = 0.0
    pending: int = 0

    def write(self, db: Session) -> None:
        # One executemany, not the ORM's unit of work: a submit writes every answer at once.
        if self.rows:
            connection = db.connection()
            connection.execute(_WRITE_ANSWERS[connection.dialect.name], self.rows)


def _grade(db: Session, attempt: QuizAttempt, now: datetime, quiz: QuizInfo, responses: dict[int, Any]) -> _Grading:
    """Score every answer of the attempt in one pass: the rows to write (new answers and changed ones)
    and the totals; nothing is written yet."""
    ids = [entry["question_id"] for entry in attempt.layout]
    records = question_records(db, ids)
    existing = {row.question_id: row for row in db.connection().execute(_SAVED_ANSWERS, {"attempt_id": attempt.id})}
    grading = _Grading([])
    for question_id in ids:
        record = records[question_id]
        answer = existing.get(question_id)
        final = answer is not None and answer.checked_at is not None
        response = answer.response if answer is not None else None
        if not final and question_id in responses:
            response = responses[question_id]
        if not record.question.scored:
            status, fraction = "unscored", 0.0
        elif final and answer.fraction is not None:
            status, fraction = answer.status, answer.fraction
        else:
            result = score(record.question, response)
            status, fraction = result.status, result.fraction
        unchanged = answer is not None and response == answer.response  # (an essay is rendered once)
        row = {"response": response, "fraction": fraction, "status": status, "checked_at": now,
               "response_html": answer.response_html if unchanged else _essay_html(record, response)}
        if answer is None or not final or answer.fraction is None:
            grading.rows.append({"attempt_id": attempt.id, "question_id": question_id, "saved_at": now, **row})
        if record.question.scored:
            grading.possible += record.points
            grading.earned += record.points * fraction
            grading.pending += status == "pending"
    return grading


def _result(quiz: QuizInfo, earned: float, possible: float, pending: int) -> dict:
    """The attempt's result columns (as _RESULT_VALUES names them); passed is None while essays wait."""
    passed = None if pending else (possible > 0 and 100 * earned / possible >= quiz.pass_score - 1e-9)
    return {"earned": round(earned, 6), "possible": possible, "pending_essays": pending, "passed_now": passed}


def _after_result(db: Session, attempt: QuizAttempt, quiz: QuizInfo, result: dict, changed: dict) -> None:
    """The attempt object brought in line with the row just written, then what a result leads to."""
    for name, value in {**changed, "points_earned": result["earned"], "points_possible": result["possible"],
                        "pending": result["pending_essays"], "passed": result["passed_now"]}.items():
        set_committed_value(attempt, name, value)
    role = quiz.settings.get("role", "module")
    if attempt.passed and role == "module":
        enrollments.complete_item(db, attempt.enrollment_id, attempt.quiz_item_id, "passed")
    elif attempt.passed and role == "placement":  # tested out: the module counts as mastered
        enrollments.test_out_module(db, attempt.enrollment_id, attempt.quiz_item_id)
    quiz_submitted.send(db, attempt=attempt)


def _settle(db: Session, attempt: QuizAttempt) -> None:
    """Totals recomputed from the stored answers (after an essay is graded or a regrade)."""
    db.flush()  # (answers changed through the ORM count)
    rows = db.execute(select(AttemptAnswer.fraction, AttemptAnswer.status, QuestionVersion.points)
                      .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_id)
                      .where(AttemptAnswer.attempt_id == attempt.id,
                             AttemptAnswer.status.not_in(("unscored",)), AttemptAnswer.status.is_not(None))).all()
    earned = sum(points * (fraction or 0.0) for fraction, _status, points in rows)
    possible = sum(points for _fraction, _status, points in rows)
    pending = sum(1 for _fraction, status, _points in rows if status == "pending")
    quiz = get_quiz(db, attempt.quiz_item_id)
    result = _result(quiz, earned, possible, pending)
    db.connection().execute(_SET_RESULT, {"attempt_id": attempt.id, **result})
    _after_result(db, attempt, quiz, result, {})


# -- essays ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PendingEssay:
    answer: AttemptAnswer
    attempt: QuizAttempt
    version: QuestionVersion
    learner_name: str
    quiz_title: str


def pending_essays(db: Session, course_id: int) -> list[PendingEssay]:
    """Essays of submitted attempts waiting for a grader in a course, oldest first."""

    rows = db.execute(
        select(AttemptAnswer, QuizAttempt, QuestionVersion, User.name, Item.title)
        .join(QuizAttempt, QuizAttempt.id == AttemptAnswer.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_id)
        .join(Enrollment, Enrollment.id == QuizAttempt.enrollment_id)
        .join(User, User.id == Enrollment.user_id)
        .join(Item, Item.id == QuizAttempt.quiz_item_id)
        .where(Item.course_id == course_id, AttemptAnswer.status == "pending", QuizAttempt.state == "submitted")
        .order_by(QuizAttempt.submitted_at, AttemptAnswer.id)
    ).all()
    return [PendingEssay(*row) for row in rows]


def grade_essay(db: Session, answer_id: int, course_id: int, grader_id: int, points: float, comment: str,
                now: datetime) -> QuizAttempt:
    """Score a pending essay (0..its points); the attempt's result is settled when none is left."""

    answer = db.get(AttemptAnswer, answer_id)
    attempt = db.get(QuizAttempt, answer.attempt_id) if answer else None
    item = db.get(Item, attempt.quiz_item_id) if attempt else None
    if answer is None or item is None or item.course_id != course_id:
        raise NotFound("There is no such essay in this course.")
    version = db.get(QuestionVersion, answer.question_id)
    if not 0 <= points <= version.points:
        raise DomainError(f"Give between 0 and {version.points:g} points.")
    fraction = points / version.points
    claimed = db.execute(update(AttemptAnswer).where(AttemptAnswer.id == answer_id, AttemptAnswer.status == "pending")
                         .values(fraction=fraction, graded_by_id=grader_id, graded_at=now,
                                 grader_comment=comment.strip()[:5000] or None,
                                 status="correct" if fraction >= 1 else "partial" if fraction > 0 else "incorrect")
                         .execution_options(synchronize_session=False)).rowcount == 1
    if not claimed:
        raise Conflict("Another grader has already graded this essay.")
    db.refresh(answer)
    _settle(db, attempt)
    return attempt


# -- regrading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegradeChange:
    attempt_id: int
    before: float  # points earned on the question
    after: float


def regrade_question(db: Session, quiz_item_id: int, key: str, actor_id: int | None, now: datetime, *,
                     dry_run: bool = False) -> list[RegradeChange]:
    """Re-score every submitted answer to earlier versions of a question with its current version.

    The explicit, audited way past grades change (a sync alone never does). Only possible when the
    current version accepts the same kind of response (same type and, for choices, pairs, items and
    gaps, the same count). Passes it creates are recorded; passes already recorded are never taken away.
    """

    versions = list(db.scalars(select(QuestionVersion).where(
        QuestionVersion.quiz_item_id == quiz_item_id, QuestionVersion.key == key).order_by(QuestionVersion.version)))
    current = next((v for v in versions if v.retired_at is None), None)
    if current is None:
        raise NotFound(f"No live question with key {key!r} in this quiz.")
    new_question = load_question(current)
    changes: list[RegradeChange] = []
    touched: set[int] = set()
    old_ids = [v.id for v in versions if v.id != current.id]
    for version in versions:
        if version.id != current.id and not _same_shape(load_question(version), new_question):
            raise DomainError(f"Version {version.version} of {key!r} takes a different kind of answer than the "
                              "current version, so its answers cannot be re-scored with it.")
    rows = db.execute(select(AttemptAnswer, QuizAttempt).join(QuizAttempt, QuizAttempt.id == AttemptAnswer.attempt_id)
                      .where(QuizAttempt.quiz_item_id == quiz_item_id, QuizAttempt.state == "submitted",
                             AttemptAnswer.question_id.in_([*old_ids, current.id]),
                             AttemptAnswer.status != "pending")).all()
    for answer, attempt in rows:
        result = score(new_question, answer.response)
        before = (answer.fraction or 0.0) * current.points
        after = result.fraction * current.points
        if abs(before - after) > 1e-9 or answer.status != result.status:
            changes.append(RegradeChange(attempt.id, before, after))
            if not dry_run:
                answer.fraction, answer.status = result.fraction, result.status
                touched.add(attempt.id)
    if not dry_run:
        db.flush()
        for attempt_id in sorted(touched):
            _settle(db, db.get(QuizAttempt, attempt_id))
        audit.record(db, "quiz.regrade", "item", quiz_item_id, actor_id, question_key=key,
                     version=current.version, answers_changed=len(changes))
    return changes


def _same_shape(old: Question, new: Question) -> bool:
    if old.type != new.type:
        return False
    for attribute in ("choices", "pairs", "items", "gaps"):
        if len(getattr(old, attribute, ())) != len(getattr(new, attribute, ())):
            return False
    return True


# -- results --------------------------------------------------------------------------------------

def counted_attempt(attempts: list[QuizAttempt], rule: str) -> QuizAttempt | None:
    """The attempt that counts for the grade: the highest or the latest submitted one."""
    graded = [a for a in attempts if a.state == "submitted" and a.points_possible]
    if not graded:
        return None
    if rule == "latest":
        return graded[-1]
    return max(graded, key=lambda a: (a.points_earned / a.points_possible, -a.number))
