"""The canonical JSON form of a quiz (see lms/questions/model.py for its shape)."""

from __future__ import annotations

import json
from typing import Any

from lms.questions.model import (
    QUESTION_TYPES,
    Choice,
    Gap,
    NumericAnswer,
    Pair,
    Question,
    QuestionError,
    Quiz,
    RichText,
    TextAnswer,
)

COMMON_KEYS = ("type", "text", "name", "key", "points", "general_feedback", "category", "tags", "idnumber",
               "lesson")


def dumps(quiz: Quiz) -> str:
    return json.dumps(quiz.to_json(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def loads(text: str) -> Quiz:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise QuestionError(f"line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuestionError('expected an object with a "questions" array')
    settings = data.get("settings") or {}
    if not isinstance(settings, dict):
        raise QuestionError('"settings" must be an object')
    questions = tuple(question_from_json(q, f"questions[{n}]") for n, q in enumerate(data["questions"]))
    description = _rich(data.get("description"), "description")
    return Quiz(title=str(data.get("title") or ""), settings=settings, questions=questions, description=description)


def _rich(value: Any, where: str) -> RichText | None:
    return None if value is None else RichText.from_json(value, where)


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise QuestionError(f"{where}: expected a number")
    return float(value)


def _choices(items: Any, where: str) -> tuple[Choice, ...]:
    return tuple(Choice(RichText.from_json(c.get("text"), f"{where}[{n}].text"),
                        _number(c.get("fraction", 0), f"{where}[{n}].fraction"),
                        _rich(c.get("feedback"), f"{where}[{n}].feedback"))
                 for n, c in enumerate(_list(items, where)))


def _text_answers(items: Any, where: str) -> tuple[TextAnswer, ...]:
    return tuple(TextAnswer(str(a.get("text", "")), _number(a.get("fraction", 1), f"{where}[{n}].fraction"),
                            _rich(a.get("feedback"), f"{where}[{n}].feedback"), bool(a.get("regex", False)))
                 for n, a in enumerate(_list(items, where)))


def _list(items: Any, where: str) -> list[dict]:
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise QuestionError(f"{where}: expected a list of objects")
    return items


def question_from_json(data: Any, where: str) -> Question:
    if not isinstance(data, dict):
        raise QuestionError(f"{where}: expected an object")
    cls = QUESTION_TYPES.get(data.get("type"))
    if cls is None:
        raise QuestionError(f"{where}: unknown type {data.get('type')!r}; use one of {', '.join(QUESTION_TYPES)}")
    common = {
        "text": RichText.from_json(data.get("text", ""), f"{where}.text"),
        "name": data.get("name"), "key": data.get("key"),
        "points": _number(data.get("points", 1), f"{where}.points"),
        "general_feedback": _rich(data.get("general_feedback"), f"{where}.general_feedback"),
        "category": data.get("category"), "tags": tuple(data.get("tags") or ()),
        "idnumber": data.get("idnumber"), "lesson": data.get("lesson"),
    }
    specific: dict[str, Any] = {}
    t = cls.type
    if t in ("single", "multi"):
        specific["choices"] = _choices(data.get("choices"), f"{where}.choices")
    elif t == "truefalse":
        specific["answer"] = bool(data.get("answer", True))
        specific["feedback_true"] = _rich(data.get("feedback_true"), f"{where}.feedback_true")
        specific["feedback_false"] = _rich(data.get("feedback_false"), f"{where}.feedback_false")
    elif t == "short":
        specific["answers"] = _text_answers(data.get("answers"), f"{where}.answers")
        specific["case_sensitive"] = bool(data.get("case_sensitive", False))
    elif t == "numerical":
        specific["answers"] = tuple(
            NumericAnswer(fraction=_number(a.get("fraction", 1), f"{where}.answers[{n}].fraction"),
                          value=_number(a.get("value"), f"{where}.answers[{n}].value"),
                          tolerance=_number(a.get("tolerance"), f"{where}.answers[{n}].tolerance"),
                          low=_number(a.get("low"), f"{where}.answers[{n}].low"),
                          high=_number(a.get("high"), f"{where}.answers[{n}].high"),
                          feedback=_rich(a.get("feedback"), f"{where}.answers[{n}].feedback"))
            for n, a in enumerate(_list(data.get("answers"), f"{where}.answers")))
    elif t == "matching":
        specific["pairs"] = tuple(Pair(RichText.from_json(p.get("prompt", ""), f"{where}.pairs[{n}].prompt"),
                                       str(p.get("answer", "")))
                                  for n, p in enumerate(_list(data.get("pairs"), f"{where}.pairs")))
    elif t == "ordering":
        specific["items"] = tuple(RichText.from_json(i, f"{where}.items[{n}]")
                                  for n, i in enumerate(data.get("items") or []))
    elif t == "cloze":
        specific["gaps"] = tuple(
            Gap(kind=g.get("kind", "short"),
                answers=_text_answers(g.get("answers"), f"{where}.gaps[{n}].answers"),
                choices=_choices(g.get("choices"), f"{where}.gaps[{n}].choices"),
                case_sensitive=bool(g.get("case_sensitive", False)))
            for n, g in enumerate(_list(data.get("gaps"), f"{where}.gaps")))
    elif t == "essay":
        specific["grader_info"] = _rich(data.get("grader_info"), f"{where}.grader_info")
    known = set(COMMON_KEYS) | set(specific)
    unknown = sorted(set(data) - known)
    if unknown:
        raise QuestionError(f"{where}: unknown key(s) {', '.join(unknown)} for a {t} question")
    return cls(**common, **specific)
