"""Item analysis of a quiz, as Moodle's quiz statistics report computes it.

Over the submitted attempts (every attempt counts), per question version:
- facility index: the mean score on the question as a percent of its points;
- discrimination index: the Pearson correlation (x100) between the score on the question and the
  score on the rest of the attempt (the attempt's total minus this question), so a question does not
  correlate with itself;
- how often each option (or response) was chosen, and how many attempts saw the question.
Per quiz: mean, median and standard deviation of the attempts' percent scores, and Cronbach's alpha
over the questions every attempt saw: k/(k-1) * (1 - sum of item variances / variance of totals).
Variances and standard deviations are sample statistics (n - 1), as in Moodle.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.questions.model import FillInBlanks, Matching, MultipleResponse, Ordering, SingleChoice, TrueFalse
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt
from lms.quizzes.services import load_question


@dataclass(frozen=True)
class Observation:
    """One attempt's result on one question."""

    attempt_id: int
    question_id: int
    score: float  # points earned on the question
    response: object


@dataclass
class QuestionStats:
    question_id: int
    key: str
    version: int
    type: str
    points: float
    title: str
    attempts: int = 0
    facility: float | None = None  # percent
    discrimination: float | None = None  # -100..100
    sd: float | None = None  # of the question's score, as a percent of its points
    options: list[tuple[str, int]] = field(default_factory=list)  # (option or response, times chosen)


@dataclass
class QuizStats:
    attempts: int
    mean: float | None
    median: float | None
    sd: float | None
    alpha: float | None
    alpha_note: str
    questions: list[QuestionStats]


def pearson(xs: list[float], ys: list[float]) -> float | None:
    if len(xs) < 2:
        return None
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def cronbach_alpha(item_scores: list[list[float]]) -> float | None:
    """item_scores[i][a]: score of item i in attempt a (every item seen by every attempt)."""
    k = len(item_scores)
    if k < 2 or len(item_scores[0]) < 2:
        return None
    totals = [sum(column) for column in zip(*item_scores, strict=True)]
    total_variance = statistics.variance(totals)
    if total_variance == 0:
        return None
    return k / (k - 1) * (1 - sum(statistics.variance(item) for item in item_scores) / total_variance)


def compute(attempt_percents: dict[int, float], attempt_totals: dict[int, float], observations: list[Observation],
            versions: dict[int, QuestionVersion], option_labels) -> QuizStats:
    """Statistics from plain data (the tests feed hand-computed fixtures here)."""
    by_question: dict[int, list[Observation]] = {}
    for obs in observations:
        by_question.setdefault(obs.question_id, []).append(obs)
    questions = []
    for question_id, version in sorted(versions.items(), key=lambda kv: (kv[1].position, kv[1].version)):
        seen = by_question.get(question_id, [])
        stats = QuestionStats(question_id, version.key, version.version, version.type, version.points,
                              _title(version), attempts=len(seen))
        if seen and version.points:
            scores = [o.score for o in seen]
            stats.facility = 100 * statistics.fmean(scores) / version.points
            if len(scores) > 1:
                stats.sd = 100 * statistics.stdev(scores) / version.points
            rest = [attempt_totals[o.attempt_id] - o.score for o in seen]
            r = pearson(scores, rest)
            stats.discrimination = None if r is None else 100 * r
            stats.options = option_labels(version, [o.response for o in seen])
        questions.append(stats)
    percents = list(attempt_percents.values())
    alpha, note = _alpha(observations, versions, list(attempt_percents))
    return QuizStats(
        attempts=len(percents),
        mean=statistics.fmean(percents) if percents else None,
        median=statistics.median(percents) if percents else None,
        sd=statistics.stdev(percents) if len(percents) > 1 else None,
        alpha=alpha, alpha_note=note, questions=questions,
    )


def _alpha(observations, versions, attempt_ids) -> tuple[float | None, str]:
    table: dict[int, dict[int, float]] = {}
    for obs in observations:
        table.setdefault(obs.question_id, {})[obs.attempt_id] = obs.score
    common = [qid for qid, scores in table.items() if set(scores) >= set(attempt_ids)]
    if len(common) < len(table):
        return None, "not computed: not every attempt saw every question (random draw or changed questions)"
    alpha = cronbach_alpha([[table[qid][a] for a in attempt_ids] for qid in sorted(common)])
    return alpha, "" if alpha is not None else "not computed: needs two questions, two attempts and varied totals"


def _title(version: QuestionVersion) -> str:
    return str(version.spec.get("name") or version.spec.get("text", {}).get("text", ""))[:120]


def option_labels(version: QuestionVersion, responses: list) -> list[tuple[str, int]]:
    """How often each option was chosen (choice questions), or the most common responses."""
    question = load_question(version)
    counts: Counter = Counter()
    if isinstance(question, (SingleChoice, MultipleResponse)):
        for response in responses:
            for index in ([response] if isinstance(response, int) else response or []):
                counts[index] += 1
        return [(choice.text.text, counts.get(n, 0)) for n, choice in enumerate(question.choices)]
    if isinstance(question, TrueFalse):
        counts.update(r for r in responses if isinstance(r, bool))
        return [("True", counts.get(True, 0)), ("False", counts.get(False, 0))]
    if isinstance(question, (Matching, Ordering, FillInBlanks)):
        counts.update(" / ".join(map(str, r)) for r in responses if isinstance(r, list))
    else:
        counts.update(" ".join(r.split()).casefold() for r in responses if isinstance(r, str) and r.strip())
    unanswered = sum(1 for r in responses if r in (None, "", []))
    common = [(text, n) for text, n in counts.most_common(8)]
    return common + ([("(no answer)", unanswered)] if unanswered else [])


def quiz_statistics(db: Session, quiz_item_id: int) -> QuizStats:
    """Statistics of a quiz from its submitted attempts (two queries)."""
    attempts = {a.id: a for a in db.scalars(select(QuizAttempt).where(
        QuizAttempt.quiz_item_id == quiz_item_id, QuizAttempt.state == "submitted",
        QuizAttempt.points_possible > 0))}
    rows = db.execute(select(AttemptAnswer, QuestionVersion).join(
        QuestionVersion, QuestionVersion.id == AttemptAnswer.question_id).where(
        AttemptAnswer.attempt_id.in_(list(attempts)))).all() if attempts else []
    versions = {version.id: version for _answer, version in rows}
    if not versions:
        versions = {v.id: v for v in db.scalars(select(QuestionVersion).where(
            QuestionVersion.quiz_item_id == quiz_item_id, QuestionVersion.retired_at.is_(None)))}
    observations = [Observation(answer.attempt_id, version.id, version.points * (answer.fraction or 0.0),
                                answer.response)
                    for answer, version in rows if answer.status not in (None, "pending", "unscored")]
    percents = {a.id: a.percent for a in attempts.values() if a.percent is not None and not a.pending}
    totals = {a.id: a.points_earned or 0.0 for a in attempts.values()}
    return compute(percents, totals, observations, versions, option_labels)


def to_csv(stats: QuizStats) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "key", "version", "type", "points", "attempts", "facility_percent",
                     "discrimination_index", "sd_percent", "options"])
    for q in stats.questions:
        writer.writerow([q.title, q.key, q.version, q.type, q.points, q.attempts, _fmt(q.facility),
                         _fmt(q.discrimination), _fmt(q.sd), "; ".join(f"{label}: {n}" for label, n in q.options)])
    writer.writerow([])
    writer.writerow(["attempts", "mean_percent", "median_percent", "sd_percent", "cronbach_alpha"])
    writer.writerow([stats.attempts, _fmt(stats.mean), _fmt(stats.median), _fmt(stats.sd), _fmt(stats.alpha, 4)])
    return out.getvalue()


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"
