"""The bench's quiz: 20 mixed questions, the answers its learners send, and in-process grading time.

:func:`write_quiz_course` puts a small course with one module and the quiz into the bench's own
courses folder (the real courses are left as they are, so the lesson and dashboard pages measured
do not change). The same question list gives both the form fields the wrk scenario submits
(:func:`answer_fields`) and canonical responses for grading in-process (:func:`time_grading`).
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUIZ_COURSE = "bench-quiz-course"
QUIZ_MODULE = "practice"  # folder 01-practice
QUIZ_SLUG = "mixed-questions"  # file 02-mixed-questions.md
QUIZ_PATH = f"/courses/{QUIZ_COURSE}/{QUIZ_MODULE}/{QUIZ_SLUG}"
GRADING_ATTEMPTS = 50
# The wrk scenario gives each connection this many learners of its own, taken in turn, and each
# wrk run (the warm-up, every round) fresh ones: starting an attempt reads all the learner's past
# attempts, so a few learners taking hundreds of attempts would slow down from round to round.
LEARNERS_PER_CONNECTION = 4
GRADING_LEARNER = ("grading.learner@example.com", "Grading Bench-Learner")


@dataclass(frozen=True)
class BenchQuestion:
    """One question: its Markdown, the form fields the wrk scenario sends for it (field-name suffix,
    value: None is the bare ``q<id>``), and a right and a wrong canonical response."""

    type: str
    markdown: str
    form: tuple[tuple[str | None, str], ...]
    right: Any
    wrong: Any


def _q(type_: str, markdown: str, form, right, wrong) -> BenchQuestion:
    return BenchQuestion(type_, markdown.strip() + "\n", tuple(form), right, wrong)


# 20 questions: 3 single, 3 multi, 2 true/false, 3 short, 3 numerical, 2 matching, 2 ordering,
# 2 fill-in-the-blanks. The form answers are a mix of right and wrong ones; for choices they are
# positions in the attempt's shuffled order, so whether they are right changes from one attempt to
# the next, like a real learner's score.
QUESTIONS: tuple[BenchQuestion, ...] = (
    _q("single", """
## Which method shows the first five rows of a DataFrame?
- [x] `df.head()`
  > Right: `head()` defaults to five rows.
- [ ] `df.first()`
  > `first()` selects rows by a date offset, not by count.
- [ ] `df.top()`
  > There is no `top()` method.
- [ ] `df.peek()`
> `df.tail()` shows the last rows.
""", [(None, "0")], 0, 2),
    _q("single", """
## Which function reads a CSV file into a DataFrame?
- [ ] `pd.load_csv()`
- [x] `pd.read_csv()`
  > Yes, and `pd.read_excel()` does the same for spreadsheets.
- [ ] `pd.open()`
""", [(None, "1")], 1, 0),
    _q("single", """
## What does `df.shape` give you? {points=2}
- [ ] The column names
- [ ] The data types
- [x] The numbers of rows and columns, as a tuple
  > Right: `(rows, columns)`.
- [ ] A chart of the data
""", [(None, "2")], 2, 3),
    _q("multi", """
## Which of these types are mutable? {points=2}
- [x] `list`
- [x] `dict`
- [ ] `tuple`
  > Tuples cannot change after creation.
- [ ] {0%} `str`
- [x] `set`
""", [("present", "1"), (None, "0"), (None, "2")], [0, 1, 4], [0, 2]),
    _q("multi", """
## Which methods deal with missing values?
- [x] `dropna()`
- [x] `fillna()`
- [x] `isna()`
- [ ] `merge()`
  > `merge()` combines two tables.
""", [("present", "1"), (None, "1"), (None, "3")], [0, 1, 2], [1, 3]),
    _q("multi", """
## Which of these select the `price` column of `df`?
- [x] `df["price"]`
- [x] `df.price`
- [ ] `df(price)`
- [ ] {-100%} `df.drop("price", axis=1)`
  > That removes the column.
""", [("present", "1"), (None, "0")], [0, 1], [3]),
    _q("truefalse", """
## Python lists keep the order of their items.
= true
  > Yes: lists keep insertion order.
  > They do keep it; have another look at the lesson on lists.
""", [(None, "true")], True, False),
    _q("truefalse", """
## `df.dropna()` changes `df` in place by default.
= false
  > No: it returns a new DataFrame unless you pass `inplace=True`.
  > Right, it returns a new DataFrame.
""", [(None, "true")], False, True),
    _q("short", """
## What is the capital of France?
= Paris
= {50%} Lutetia
  > That was its Roman name.
= /par[iy]s/
= {0%} *
  > Think of the Eiffel Tower.
""", [(None, "paris")], "Paris", "London"),
    _q("short", """
## Which pandas function combines two DataFrames on a key column?
= merge
= /pd\\.merge(\\(\\))?/
= {50%} join
  > `join` works on the index; `merge` on columns.
= {0%} concat
  > `concat` stacks tables without matching keys.
""", [(None, "concat")], "merge", "append"),
    _q("short", """
## Which keyword defines a function in Python? {case=sensitive}
= def
= {0%} DEF
  > Python keywords are lower-case.
""", [(None, "def")], "def", "function"),
    _q("numerical", """
## What is 2.5 times 4?
= 10
= {50%} 9..11
  > Close.
""", [(None, "10")], "10", "12"),
    _q("numerical", """
## How many rows does `df.head()` show by default?
= 5
= {0%} *
  > Try it on a DataFrame with more rows.
""", [(None, "6")], "5", "10"),
    _q("numerical", """
## What is pi to two decimal places?
= 3.14 +- 0.005
= {50%} 3..3.3
""", [(None, "3,14")], "3.14", "3.2"),
    _q("matching", """
## Match each function to what it does.
- `len()` -> counts items
- `sum()` -> adds numbers
- `sorted()` -> sorts items
- -> prints items
""", [("0", "0"), ("1", "1"), ("2", "2")],
       ["counts items", "adds numbers", "sorts items"], ["adds numbers", "counts items", "sorts items"]),
    _q("matching", """
## Match each pandas method to its use.
- `groupby()` -> splits rows into groups
- `merge()` -> joins two tables on a key
- `pivot_table()` -> reshapes and summarises
- `astype()` -> changes a column's type
""", [("0", "3"), ("1", "1"), ("2", "0"), ("3", "2")],
       ["splits rows into groups", "joins two tables on a key", "reshapes and summarises",
        "changes a column's type"],
       ["joins two tables on a key", "splits rows into groups", "reshapes and summarises",
        "changes a column's type"]),
    _q("ordering", """
## Put these steps of an analysis in order. {type=ordering}
1. Load the data
2. Clean it
3. Summarise it
4. Plot the result
""", [("0", "1"), ("1", "2"), ("2", "3"), ("3", "4")], [0, 1, 2, 3], [1, 0, 2, 3]),
    _q("ordering", """
## Order these Python versions from oldest to newest. {type=ordering points=2}
1. Python 2.7
2. Python 3.6
3. Python 3.8
4. Python 3.10
5. Python 3.12
""", [("0", "1"), ("1", "3"), ("2", "2"), ("3", "4"), ("4", "5")], [0, 1, 2, 3, 4], [0, 2, 1, 3, 4]),
    _q("cloze", """
## Splitting and combining
In pandas, [[groupby | group by]] splits the data and [[select: *agg | merge | melt]] combines the results.
""", [("g0", "groupby"), ("g1", "0")], ["groupby", 0], ["split", 2]),
    _q("cloze", """
## Reading and writing files
Read a CSV file with [[select: read_excel | *read_csv | to_csv]], write one with [[to_csv]] and
count its rows with [[select: *len | sum | max]].
""", [("g0", "1"), ("g1", "to_csv"), ("g2", "2")], [1, "to_csv", 0], [0, "save", 0]),
)

COURSE_YML = f"""\
title: Bench quiz course
slug: {QUIZ_COURSE}
summary: Generated by `make bench` to measure taking a quiz of 20 mixed questions.
"""
MODULE_YML = "title: Practice\nsummary: A lesson and a quiz of mixed questions.\n"
LESSON_MD = """\
---
title: Before the quiz
minutes: 2
---
The quiz after this lesson has 20 questions of every kind that is scored automatically.
"""


def quiz_markdown() -> str:
    """The quiz file: front matter (unlimited attempts) and the 20 questions."""
    front = ("---\ntype: quiz\ntitle: Mixed questions\nattempts: 0\npass_score: 70\nshuffle_options: true\n"
             "feedback: after_submit\n---\nTwenty questions, one of each kind the platform scores, several times.\n\n")
    return front + "\n".join(q.markdown for q in QUESTIONS)


def write_quiz_course(courses_dir: Path) -> str:
    """Write the quiz course into ``courses_dir``; returns its slug."""
    course = courses_dir / QUIZ_COURSE
    module = course / f"01-{QUIZ_MODULE}"
    module.mkdir(parents=True)
    (course / "course.yml").write_text(COURSE_YML, encoding="utf-8")
    (module / "module.yml").write_text(MODULE_YML, encoding="utf-8")
    (module / "01-before-the-quiz.md").write_text(LESSON_MD, encoding="utf-8")
    (module / f"02-{QUIZ_SLUG}.md").write_text(quiz_markdown(), encoding="utf-8")
    return QUIZ_COURSE


@dataclass(frozen=True)
class QuizData:
    """The synced quiz as the measuring side needs it."""

    path: str  # the quiz's item page; attempts are under path + "/attempts"
    item_id: int
    question_ids: tuple[int, ...]  # the live question versions, in QUESTIONS' order
    learners: tuple[tuple[str, str], ...]  # (email, name) of the learners who take it over HTTP
    grading_enrollment_id: int  # the learner graded in-process (not used over HTTP)
    types: dict[str, int] = field(default_factory=dict)  # question type -> count


def answer_fields(quiz: QuizData) -> list[tuple[str, str]]:
    """The form fields a submission sends besides ``csrf_token`` and ``action`` (answers to all 20)."""
    fields = []
    for question_id, question in zip(quiz.question_ids, QUESTIONS, strict=True):
        for suffix, value in question.form:
            fields.append((f"q{question_id}" if suffix is None else f"q{question_id}-{suffix}", value))
    return fields


def store_quiz_data(db, course, learners: list[tuple[str, str]], grading_enrollment_id: int) -> QuizData:
    """Read the synced quiz back (its item and question version ids) and check it is the one written."""
    from sqlalchemy import select  # noqa: PLC0415

    from lms.catalog.services import get_outline  # noqa: PLC0415
    from lms.quizzes.models import QuestionVersion  # noqa: PLC0415

    outline = get_outline(db, course)
    item = outline.find(QUIZ_MODULE, QUIZ_SLUG)
    if item is None or item.kind != "quiz":
        raise RuntimeError(f"the bench quiz {QUIZ_PATH} was not synced as a quiz")
    versions = list(db.scalars(select(QuestionVersion).where(
        QuestionVersion.quiz_item_id == item.id, QuestionVersion.retired_at.is_(None))
        .order_by(QuestionVersion.position)))
    types = [v.type for v in versions]
    if types != [q.type for q in QUESTIONS]:
        raise RuntimeError(f"the bench quiz synced as {types}, expected {[q.type for q in QUESTIONS]}")
    counts: dict[str, int] = {}
    for kind in types:
        counts[kind] = counts.get(kind, 0) + 1
    return QuizData(path=item.url, item_id=item.id, question_ids=tuple(v.id for v in versions),
                    learners=tuple(learners), grading_enrollment_id=grading_enrollment_id, types=counts)


# -- grading in-process ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GradingTime:
    attempts: int
    median_ms: float
    p90_ms: float
    min_ms: float
    max_ms: float
    scoring_median_ms: float  # lms.questions.scoring.score over the 20 answers alone, no database
    mean_percent: float  # the attempts' average score, to show the answers were plausible

    def to_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}


def _responses(quiz: QuizData, rng: random.Random) -> dict[int, Any]:
    """Canonical responses for all 20 questions, each right with probability 0.6."""
    return {qid: (q.right if rng.random() < 0.6 else q.wrong) for qid, q in zip(quiz.question_ids, QUESTIONS,
                                                                                 strict=True)}


def time_grading(app, quiz: QuizData, attempts: int = GRADING_ATTEMPTS, seed: int = 7) -> GradingTime:
    """Start ``attempts`` attempts of the grading learner, save plausible answers, and time
    ``services.submit_attempt`` (which scores all 20 answers and settles the attempt), each its own
    transaction as in a request. Also times the scoring alone (no database)."""
    from lms.db import get_db, utcnow  # noqa: PLC0415
    from lms.questions.scoring import score  # noqa: PLC0415
    from lms.quizzes import services  # noqa: PLC0415

    rng = random.Random(seed)
    grading_ms, scoring_ms, percents = [], [], []
    with app.app_context():
        db = get_db()
        info = services.get_quiz(db, quiz.item_id)
        questions = {record.id: record.question for record in info.questions}
        for _ in range(attempts):
            now = utcnow()
            responses = _responses(quiz, rng)
            attempt = services.start_attempt(db, quiz.grading_enrollment_id, info, now)
            services.save_responses(db, attempt, responses, now)
            db.commit()
            started = time.perf_counter()
            graded = services.submit_attempt(db, attempt.id, now)
            grading_ms.append((time.perf_counter() - started) * 1000)
            db.commit()
            percents.append(graded.percent or 0.0)
            started = time.perf_counter()
            for question_id, response in responses.items():
                score(questions[question_id], response)
            scoring_ms.append((time.perf_counter() - started) * 1000)
    ordered = sorted(grading_ms)
    return GradingTime(attempts=attempts, median_ms=statistics.median(grading_ms),
                       p90_ms=ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
                       min_ms=ordered[0], max_ms=ordered[-1], scoring_median_ms=statistics.median(scoring_ms),
                       mean_percent=statistics.fmean(percents))
