"""Turning a submitted form into canonical responses, and responses into what a page shows.

The page shows options in the attempt's shuffled order and sends back positions; here positions
become the question's own indices (lms.questions.scoring's response shapes), so nothing about
the correct answers is ever needed on the page.
"""

from __future__ import annotations

from typing import Any

from lms.questions.model import (
    Essay,
    FillInBlanks,
    Matching,
    MultipleResponse,
    Numerical,
    Ordering,
    Question,
    ShortAnswer,
    SingleChoice,
    TrueFalse,
)

MAX_TEXT = 2_000
MAX_ESSAY = 20_000
UNSET = object()  # the form said nothing about this question: keep what was saved


def field_name(question_id: int, part: str | int | None = None) -> str:
    return f"q{question_id}" if part is None else f"q{question_id}-{part}"


def _position(value: str | None, order: list[int]) -> int | None:
    if value is None or not value.isdigit() or int(value) >= len(order):
        return None
    return order[int(value)]


def parse_response(question: Question, question_id: int, order, form) -> Any:
    """The canonical response for one question from a form (a werkzeug MultiDict), or UNSET."""
    name = field_name(question_id)
    if isinstance(question, SingleChoice):
        if name not in form:
            return UNSET
        return _position(form.get(name), order)
    if isinstance(question, MultipleResponse):
        if field_name(question_id, "present") not in form:
            return UNSET
        return sorted({p for v in form.getlist(name) if (p := _position(v, order)) is not None})
    if isinstance(question, TrueFalse):
        value = form.get(name)
        return UNSET if value is None else {"true": True, "false": False}.get(value)
    if isinstance(question, (ShortAnswer, Numerical, Essay)):
        value = form.get(name)
        if value is None:
            return UNSET
        return value[: MAX_ESSAY if isinstance(question, Essay) else MAX_TEXT]
    if isinstance(question, Matching):
        answers = [question.pairs[i].answer for i in order]
        prompts = [n for n, pair in enumerate(question.pairs) if pair.prompt.text.strip()]
        if not any(field_name(question_id, n) in form for n in prompts):
            return UNSET
        chosen = []
        for n in prompts:
            value = form.get(field_name(question_id, n), "")
            chosen.append(answers[int(value)] if value.isdigit() and int(value) < len(answers) else "")
        return chosen
    if isinstance(question, Ordering):
        if not any(field_name(question_id, n) in form for n in range(len(question.items))):
            return UNSET
        positions = {}
        for n in range(len(question.items)):
            value = form.get(field_name(question_id, n), "")
            positions[n] = int(value) - 1 if value.isdigit() else None
        placed = sorted((p, n) for n, p in positions.items() if p is not None)
        if [p for p, _ in placed] != list(range(len(question.items))):
            return {"positions": positions}  # incomplete or repeated positions: kept, scored as unanswered
        return [n for _, n in placed]
    if isinstance(question, FillInBlanks):
        if not any(field_name(question_id, f"g{n}") in form for n in range(len(question.gaps))):
            return UNSET
        values = []
        for n, gap in enumerate(question.gaps):
            value = form.get(field_name(question_id, f"g{n}"), "")
            if gap.kind == "select":
                values.append(_position(value, order[n]) if value != "" else None)
            else:
                values.append(value[:MAX_TEXT])
        return values
    return UNSET


def displayed(question: Question, order, response) -> dict:
    """What the form should show as already chosen: positions and texts, by field name suffix."""
    if response is None:
        return {}
    shown: dict[str, Any] = {}
    try:
        if isinstance(question, SingleChoice) and isinstance(response, int):
            shown[""] = {order.index(response)}
        elif isinstance(question, MultipleResponse) and isinstance(response, list):
            shown[""] = {order.index(i) for i in response if i in order}
        elif isinstance(question, TrueFalse) and isinstance(response, bool):
            shown[""] = "true" if response else "false"
        elif isinstance(question, (ShortAnswer, Numerical, Essay)) and isinstance(response, str):
            shown[""] = response
        elif isinstance(question, Matching) and isinstance(response, list):
            answers = [question.pairs[i].answer for i in order]
            prompts = [n for n, pair in enumerate(question.pairs) if pair.prompt.text.strip()]
            for n, given in zip(prompts, response, strict=False):
                if given in answers:
                    shown[str(n)] = answers.index(given)
        elif isinstance(question, Ordering):
            if isinstance(response, list):
                shown.update({str(item): position + 1 for position, item in enumerate(response)})
            elif isinstance(response, dict):
                shown.update({str(k): v + 1 for k, v in response.get("positions", {}).items() if v is not None})
        elif isinstance(question, FillInBlanks) and isinstance(response, list):
            for n, (gap, value) in enumerate(zip(question.gaps, response, strict=False)):
                if gap.kind == "select" and isinstance(value, int):
                    shown[f"g{n}"] = order[n].index(value)
                elif isinstance(value, str):
                    shown[f"g{n}"] = value
    except (ValueError, IndexError):
        return {}
    return shown
