"""Scoring and authoring checks for every question type, registered by type name.

Each rule takes the canonical question and the learner's response in its canonical shape:

| type | response |
|---|---|
| single | index of the chosen option (in the question's own order) |
| multi | list of chosen option indices |
| truefalse | true or false |
| short | the typed text |
| numerical | the typed text ("3.5", "3,5", "-2e3") |
| matching | list: for each pair, the answer text chosen for its prompt (distractors have no prompt) |
| ordering | list of item indices in the order the learner put them |
| cloze | list, one per gap: the typed text (short gap) or the chosen option index (select gap) |
| essay | the learner's Markdown (scored by a grader: "pending") |
| description | nothing (not scored) |

A score is a fraction of the question's points in 0..1: partial credit that sums above 100% is
clipped, negative weights never take a question below zero.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import regex

from lms.questions.model import (
    Choice,
    Description,
    Essay,
    FillInBlanks,
    Matching,
    MultipleResponse,
    Numerical,
    Ordering,
    Question,
    RichText,
    ShortAnswer,
    SingleChoice,
    TextAnswer,
    TrueFalse,
)

# A learner's answer is matched against an author's regular expression with this time budget.
REGEX_TIMEOUT_SECONDS = 0.05
# Authoring check: a pattern must decide long runs of its own characters (then a mismatch) in time,
# or it is rejected as one that can backtrack catastrophically on what learners type.
_AUTHOR_CHECK_TIMEOUT = 0.2


@dataclass(frozen=True)
class Score:
    fraction: float  # 0..1 of the question's points
    status: str  # "correct", "partial", "incorrect", "pending" (essay), "unanswered", "unscored"
    feedback: tuple[RichText, ...] = field(default=())

    @classmethod
    def of(cls, fraction: float, feedback: tuple[RichText, ...] = ()) -> Score:
        # Weights are stored to 7 decimals (1/3 -> 0.3333333), so sums within a millionth of 0 or 1 are
        # exactly 0 or 1: three correct options of a third each are fully correct.
        fraction = min(1.0, max(0.0, fraction))
        if fraction > 1.0 - 1e-6:
            fraction = 1.0
        elif fraction < 1e-6:
            fraction = 0.0
        status = "correct" if fraction == 1.0 else "partial" if fraction > 0 else "incorrect"
        return cls(fraction, status, feedback)


UNANSWERED = Score(0.0, "unanswered")


def score(question: Question, response) -> Score:
    """Score a response; an empty or malformed response counts as unanswered, never an error."""
    if not question.scored:
        return Score(0.0, "unscored")
    if response is None or response == [] or (isinstance(response, str) and not response.strip()):
        return UNANSWERED
    try:
        return SCORERS[question.type](question, response)
    except (TypeError, ValueError, IndexError, KeyError):
        return UNANSWERED


def problems(question: Question) -> list[str]:
    """What is wrong with a question as written (empty when it can be used)."""
    found = []
    if not question.text.text.strip() and not isinstance(question, FillInBlanks):
        found.append("the question has no text")
    if question.points <= 0:
        found.append("points must be more than 0")
    check = CHECKS.get(question.type)
    if check:
        found.extend(check(question))
    return found


# -- text answers ---------------------------------------------------------------------------------

def normalize_text(text: str, case_sensitive: bool) -> str:
    """Unicode NFC, whitespace runs collapsed, ends trimmed; case folded unless case-sensitive."""
    text = " ".join(unicodedata.normalize("NFC", text).split())
    return text if case_sensitive else text.casefold()


def match_text(answers: tuple[TextAnswer, ...], typed: str, case_sensitive: bool) -> TextAnswer | None:
    """The first answer (in the author's order) that the typed text matches."""
    if not isinstance(typed, str):
        raise TypeError("expected text")
    given = normalize_text(typed, case_sensitive)
    if not given:
        return None
    for answer in answers:
        if answer.regex:
            flags = 0 if case_sensitive else regex.IGNORECASE
            try:
                if regex.fullmatch(answer.text, " ".join(typed.split()), flags=flags, timeout=REGEX_TIMEOUT_SECONDS):
                    return answer
            except TimeoutError:
                continue  # an author check rejects such patterns; at run time it simply does not match
        elif answer.text == "*" or normalize_text(answer.text, case_sensitive) == given:
            return answer
    return None


def _adversarial_inputs(pattern: str) -> list[str]:
    characters = [c for c in dict.fromkeys(pattern + "a1 ") if c.isalnum() or c == " "][:10]
    runs = [c * 40 for c in characters] + ["".join(characters) * 8]
    return [run + tail for run in runs for tail in ("!", "\n", "")]


def regex_problem(pattern: str) -> str | None:
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        return f"the regular expression {pattern!r} is not valid: {exc}"
    for sample in _adversarial_inputs(pattern):
        try:
            compiled.fullmatch(sample, timeout=_AUTHOR_CHECK_TIMEOUT)
        except TimeoutError:
            return (f"the regular expression {pattern!r} can take exponential time on some inputs "
                    "(nested repetition like (a+)+); simplify it")
    return None


# -- numbers --------------------------------------------------------------------------------------

def parse_number(typed) -> float:
    """A number as a learner types it: "3.5", "3,5" (decimal comma), " -2e3 ", "1 000"."""
    if isinstance(typed, (int, float)) and not isinstance(typed, bool):
        return float(typed)
    text = str(typed).strip().replace("\u2212", "-").replace(" ", "").replace("\u00a0", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def numeric_matches(answer, value: float) -> bool:
    if answer.is_catch_all:
        return True
    if answer.low is not None:
        return answer.low <= value <= answer.high
    tolerance = abs(answer.tolerance or 0.0)
    # A hair of slack so that 3.1 accepted "3 ± 0.1" despite binary floating point.
    slack = 1e-9 * max(1.0, abs(answer.value), tolerance)
    return abs(value - answer.value) <= tolerance + slack


# -- scorers --------------------------------------------------------------------------------------

def _feedback(*parts: RichText | None) -> tuple[RichText, ...]:
    return tuple(p for p in parts if p is not None and p.text)


def _score_single(q: SingleChoice, response) -> Score:
    chosen: Choice = q.choices[int(response)]
    return Score.of(chosen.fraction, _feedback(chosen.feedback))


def _score_multi(q: MultipleResponse, response) -> Score:
    indices = sorted({int(i) for i in response})
    chosen = [q.choices[i] for i in indices]
    return Score.of(sum(c.fraction for c in chosen), _feedback(*(c.feedback for c in chosen)))


def _score_truefalse(q: TrueFalse, response) -> Score:
    if not isinstance(response, bool):
        raise TypeError("expected true or false")
    return Score.of(1.0 if response == q.answer else 0.0, _feedback(q.feedback_true if response else q.feedback_false))


def _score_short(q: ShortAnswer, response) -> Score:
    answer = match_text(q.answers, response, q.case_sensitive)
    return Score.of(answer.fraction, _feedback(answer.feedback)) if answer else Score.of(0.0)


def _score_numerical(q: Numerical, response) -> Score:
    try:
        value = parse_number(response)
    except ValueError:
        return Score.of(0.0)  # answered, but not with a number: wrong, not unanswered
    answer = next((a for a in q.answers if numeric_matches(a, value)), None)
    return Score.of(answer.fraction, _feedback(answer.feedback)) if answer else Score.of(0.0)


def _score_matching(q: Matching, response) -> Score:
    prompts = [p for p in q.pairs if p.prompt.text.strip()]
    if len(response) != len(prompts):
        raise ValueError("one answer per prompt")
    right = sum(1 for pair, given in zip(prompts, response, strict=True) if given == pair.answer)
    return Score.of(right / len(prompts))


def _score_ordering(q: Ordering, response) -> Score:
    order = [int(i) for i in response]
    if sorted(order) != list(range(len(q.items))):
        raise ValueError("a permutation of the items")
    # Partial credit: the share of items in their correct position.
    return Score.of(sum(1 for position, item in enumerate(order) if position == item) / len(order))


def _score_cloze(q: FillInBlanks, response) -> Score:
    if len(response) != len(q.gaps):
        raise ValueError("one answer per gap")
    total, feedback = 0.0, []
    for gap, given in zip(q.gaps, response, strict=True):
        if gap.kind == "select":
            if given is None or given == "":
                continue
            choice = gap.choices[int(given)]
            total += max(0.0, min(1.0, choice.fraction))
            feedback.extend(_feedback(choice.feedback))
        else:
            answer = match_text(gap.answers, given or "", gap.case_sensitive)
            if answer:
                total += max(0.0, min(1.0, answer.fraction))
                feedback.extend(_feedback(answer.feedback))
    return Score.of(total / len(q.gaps), tuple(feedback))


def _score_essay(q: Essay, response) -> Score:
    if not isinstance(response, str) or not response.strip():
        return UNANSWERED
    return Score(0.0, "pending")


SCORERS: dict[str, Callable[[Question, object], Score]] = {
    SingleChoice.type: _score_single,
    MultipleResponse.type: _score_multi,
    TrueFalse.type: _score_truefalse,
    ShortAnswer.type: _score_short,
    Numerical.type: _score_numerical,
    Matching.type: _score_matching,
    Ordering.type: _score_ordering,
    FillInBlanks.type: _score_cloze,
    Essay.type: _score_essay,
}


# -- authoring checks -----------------------------------------------------------------------------

def _check_single(q: SingleChoice) -> list[str]:
    found = []
    if len(q.choices) < 2:
        found.append("a single-choice question needs at least two options")
    correct = [c for c in q.choices if c.fraction >= 1.0]
    if len(correct) != 1:
        found.append(f"a single-choice question needs exactly one correct option; it has {len(correct)} "
                     "(for several correct options, make it a multiple-response question)")
    found.extend(_fraction_problems(q.choices))
    return found


def _check_multi(q: MultipleResponse) -> list[str]:
    found = []
    if len(q.choices) < 2:
        found.append("a multiple-response question needs at least two options")
    if not any(c.fraction > 0 for c in q.choices):
        found.append("a multiple-response question needs at least one correct option")
    found.extend(_fraction_problems(q.choices))
    return found


def _fraction_problems(choices) -> list[str]:
    return [f"option {n} has a weight of {c.fraction * 100:g}%; weights go from -100% to 100%"
            for n, c in enumerate(choices, start=1) if not -1.0 <= c.fraction <= 1.0]


def _check_short(q: ShortAnswer) -> list[str]:
    found = []
    if not any(a.fraction > 0 for a in q.answers):
        found.append("a short-answer question needs at least one accepted answer")
    found.extend(p for a in q.answers if a.regex and (p := regex_problem(a.text)))
    return found


def _check_numerical(q: Numerical) -> list[str]:
    found = []
    if not any(a.fraction > 0 and not a.is_catch_all for a in q.answers):
        found.append("a numerical question needs at least one accepted number")
    for n, a in enumerate(q.answers, start=1):
        if a.low is not None and (a.high is None or a.low > a.high):
            found.append(f"answer {n}: a range needs its low end first, e.g. 1..5")
        if a.tolerance is not None and a.tolerance < 0:
            found.append(f"answer {n}: a tolerance cannot be negative")
    return found


def _check_matching(q: Matching) -> list[str]:
    prompts = [p for p in q.pairs if p.prompt.text.strip()]
    found = [] if len(prompts) >= 2 else ["a matching question needs at least two pairs"]
    if any(not p.answer.strip() for p in q.pairs):
        found.append("every matching pair needs an answer after ->")
    return found


def _check_ordering(q: Ordering) -> list[str]:
    return [] if len(q.items) >= 2 else ["an ordering question needs at least two items"]


def _check_cloze(q: FillInBlanks) -> list[str]:
    found = []
    markers = regex.findall(r"\[\[(\d+)\]\]", q.text.text)
    expected = [str(n) for n in range(1, len(q.gaps) + 1)]
    if sorted(markers, key=int) != expected:
        found.append(f"the text's gaps ({', '.join('[[' + m + ']]' for m in markers) or 'none'}) do not match "
                     f"the {len(q.gaps)} gap definition(s): number them [[1]], [[2]], ... once each")
    for n, gap in enumerate(q.gaps, start=1):
        if gap.kind == "select":
            if sum(1 for c in gap.choices if c.fraction >= 1.0) != 1:
                found.append(f"gap {n}: a drop-down needs exactly one correct option")
        elif gap.kind == "short":
            if not any(a.fraction > 0 for a in gap.answers):
                found.append(f"gap {n}: needs at least one accepted answer")
            found.extend(f"gap {n}: {p}" for a in gap.answers if a.regex and (p := regex_problem(a.text)))
        else:
            found.append(f"gap {n}: unknown kind {gap.kind!r}; use short or select")
    return found


CHECKS: dict[str, Callable[[Question], list[str]]] = {
    SingleChoice.type: _check_single,
    MultipleResponse.type: _check_multi,
    ShortAnswer.type: _check_short,
    Numerical.type: _check_numerical,
    Matching.type: _check_matching,
    Ordering.type: _check_ordering,
    FillInBlanks.type: _check_cloze,
    Description.type: lambda q: [],
}
