"""Test helper: our question model <-> the Moodle question objects in Moodle's GIFT test cases.

The cases (/work/shared/spec/moodle-gift-cases.json, read-only data; see its README) hold what
Moodle's importer produces from a GIFT text, and the question objects Moodle's exporter writes out.
This module maps between those objects and ours, field by field, and says which Moodle fields are
not part of our model (and why), so that the conformance tests ignore nothing silently.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from lms.questions.model import (
    Choice,
    Description,
    Essay,
    Matching,
    MultipleResponse,
    Numerical,
    NumericAnswer,
    Pair,
    Question,
    RichText,
    ShortAnswer,
    SingleChoice,
    TextAnswer,
    TrueFalse,
)

# The shared folder sits beside the repository (CI clones the repository next to it).
SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "spec"
CASES_FILE = SPEC_DIR / "moodle-gift-cases.json"

# Our type -> Moodle's qtype (single/multi also set Moodle's `single` to 1/0).
QTYPES = {"single": "multichoice", "multi": "multichoice", "short": "shortanswer", "truefalse": "truefalse",
          "numerical": "numerical", "matching": "match", "essay": "essay", "description": "description"}
# Our text formats -> Moodle's format names (FORMAT_MOODLE=0, FORMAT_HTML=1, FORMAT_PLAIN=2,
# FORMAT_MARKDOWN=4). The names happen to be the same; the mapping is kept explicit all the same.
FORMATS = {"moodle": "moodle", "html": "html", "plain": "plain", "markdown": "markdown"}
FORMATS_BACK = {moodle: ours for ours, moodle in FORMATS.items()}
# Moodle's essay importer always gives graderinfo this format, whatever the question text's.
GRADERINFO_DEFAULT_FORMAT = "html"

# Moodle fields that are settings outside our model: not compared on import, not read on export.
NOT_IN_MODEL: dict[str, str] = {
    "penalty": "Moodle's penalty per wrong try in interactive mode; Skillmark has no per-question penalty",
    "shuffleanswers": "Moodle's per-question shuffle option (a site default on import); not in our model",
    "answernumbering": "how Moodle numbers choices (a site default on import); presentation, not in our model",
    "correctfeedback": "Moodle's combined feedback for a right response; not in our model",
    "correctfeedbackformat": "format of Moodle's combined feedback; not in our model",
    "partiallycorrectfeedback": "Moodle's combined feedback for a partly right response; not in our model",
    "partiallycorrectfeedbackformat": "format of Moodle's combined feedback; not in our model",
    "incorrectfeedback": "Moodle's combined feedback for a wrong response; not in our model",
    "incorrectfeedbackformat": "format of Moodle's combined feedback; not in our model",
    "responseformat": "Moodle's essay editor option; not in our model",
    "responsefieldlines": "Moodle's essay box height; not in our model",
    "attachments": "Moodle's essay attachment count; not in our model",
    "unitsleft": "Moodle's numerical unit options; not in our model (and not in GIFT)",
    "showunits": "Moodle's numerical unit options; not in our model (and not in GIFT)",
    "unitgradingtype": "Moodle's numerical unit options; not in our model (and not in GIFT)",
    "unitpenalty": "Moodle's numerical unit options; not in our model (and not in GIFT)",
    "answerformat": "format of a short, numerical or true/false answer: ours are plain strings, numbers, "
                    "booleans (a choice's format is mapped)",
}
# Database bookkeeping in Moodle's export inputs: ids, foreign keys and codes. Only the question's own
# id is used: it goes into Moodle's header comment (export's question_ids).
DATABASE_KEYS = {"id", "question", "questionid", "code"}
# Site configuration a case sets before importing (dotted path -> reason).
CONFIG_NOT_IN_MODEL = {"qtype_multichoice.answernumbering": NOT_IN_MODEL["answernumbering"]}

# What from_moodle reads, per level; anything else must be listed above.
_QUESTION_KEYS = {"id", "name", "questiontext", "questiontextformat", "generalfeedback", "generalfeedbackformat",
                  "defaultmark", "length", "qtype", "tags", "idnumber", "options"}
_OPTION_KEYS = {"single", "answers", "subquestions", "trueanswer", "falseanswer", "usecase", "graderinfo",
                "graderinfoformat"}
_ANSWER_KEYS = {"multichoice": {"answer", "answerformat", "fraction", "feedback", "feedbackformat"},
                "shortanswer": {"answer", "fraction", "feedback", "feedbackformat"},
                "numerical": {"answer", "fraction", "tolerance", "feedback", "feedbackformat"},
                # "answer" is Moodle's fixed label "True"/"False"; trueanswer/falseanswer say which is which.
                "truefalse": {"answer", "fraction", "feedback", "feedbackformat"}}
_SUBQUESTION_KEYS = {"questiontext", "questiontextformat", "answertext"}


def load_cases() -> dict:
    """The cases, or (file absent) a failure under CI and a skip elsewhere, each saying why."""
    if not CASES_FILE.is_file():
        message = (f"Moodle's GIFT conformance cases are missing: expected {CASES_FILE} (the shared/spec folder "
                   "sits beside the repository; CI clones the repository next to it)")
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(f"{message}; skipped outside CI", allow_module_level=True)
    return json.loads(CASES_FILE.read_text(encoding="utf-8"))


# -- ours -> Moodle ----------------------------------------------------------------------------------

def text_with_format(rich: RichText | None, default_format: str) -> dict:
    """Moodle's {text, format, files}; an absent text is Moodle's empty text in the default format."""
    if rich is None:
        return {"text": "", "format": FORMATS[default_format], "files": []}
    return {"text": rich.text, "format": FORMATS[rich.format], "files": []}


def _numeric(answer: NumericAnswer) -> tuple[Any, Any]:
    """(answer, tolerance) as Moodle stores them: '*' and '' for a catch-all, a range low..high as its
    midpoint and half-width, a missing tolerance as 0."""
    if answer.is_catch_all:
        return "*", ""
    if answer.low is not None:
        return (answer.low + answer.high) / 2, (answer.high - answer.low) / 2
    return answer.value, answer.tolerance or 0


def to_moodle(q: Question) -> dict:
    """The Moodle fields our question determines, as Moodle's importer would fill them."""
    fmt = q.text.format
    out: dict[str, Any] = {
        "name": q.name or "",
        "questiontext": q.text.text,
        "questiontextformat": FORMATS[fmt],
        "generalfeedback": q.general_feedback.text if q.general_feedback else "",
        "generalfeedbackformat": FORMATS[q.general_feedback.format if q.general_feedback else fmt],
        "qtype": QTYPES[q.type],
        "defaultmark": q.points,  # GIFT has no points: both sides say 1
        "length": 1 if q.scored else 0,  # Moodle: a description takes no question number
    }
    if q.tags:
        out["tags"] = list(q.tags)
    if q.idnumber:
        out["idnumber"] = q.idnumber
    if isinstance(q, (SingleChoice, MultipleResponse)):
        out["single"] = 1 if isinstance(q, SingleChoice) else 0
        out["answer"] = [text_with_format(c.text, fmt) for c in q.choices]
        out["fraction"] = [c.fraction for c in q.choices]
        out["feedback"] = [text_with_format(c.feedback, fmt) for c in q.choices]
    elif isinstance(q, ShortAnswer):
        out["answer"] = [a.text for a in q.answers]
        out["fraction"] = [a.fraction for a in q.answers]
        out["feedback"] = [text_with_format(a.feedback, fmt) for a in q.answers]
        out["usecase"] = 1 if q.case_sensitive else 0
    elif isinstance(q, Numerical):
        pairs = [_numeric(a) for a in q.answers]
        out["answer"] = [value for value, _ in pairs]
        out["tolerance"] = [tolerance for _, tolerance in pairs]
        out["fraction"] = [a.fraction for a in q.answers]
        out["feedback"] = [text_with_format(a.feedback, fmt) for a in q.answers]
    elif isinstance(q, TrueFalse):
        out["correctanswer"] = 1 if q.answer else 0
        out["feedbacktrue"] = text_with_format(q.feedback_true, fmt)
        out["feedbackfalse"] = text_with_format(q.feedback_false, fmt)
    elif isinstance(q, Matching):
        out["subquestions"] = [text_with_format(p.prompt, fmt) for p in q.pairs]
        out["subanswers"] = [p.answer for p in q.pairs]
    elif isinstance(q, Essay):
        grader = q.grader_info
        out["graderinfo"] = text_with_format(grader, GRADERINFO_DEFAULT_FORMAT)
    return out


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return value.strip() != ""
    return False


def loose_equal(ours: Any, moodle: Any) -> bool:
    """Moodle's comparison (PHP's loose !=) as far as the cases need it: numbers (or numeric strings)
    numerically, containers item by item, anything else exactly."""
    if isinstance(moodle, dict):
        return isinstance(ours, dict) and ours.keys() == moodle.keys() and all(
            loose_equal(ours[k], moodle[k]) for k in moodle)
    if isinstance(moodle, list):
        return isinstance(ours, (list, tuple)) and len(ours) == len(moodle) and all(
            loose_equal(a, b) for a, b in zip(ours, moodle, strict=True))
    if _is_number(ours) and _is_number(moodle):
        return math.isclose(float(ours), float(moodle), rel_tol=1e-9, abs_tol=1e-12)
    return ours == moodle


# -- Moodle -> ours ----------------------------------------------------------------------------------

def _rich(text: str | None, fmt: str | None) -> RichText | None:
    """A Moodle text as ours; empty is absent (our model has no 'empty feedback')."""
    if not text:
        return None
    return RichText(text, FORMATS_BACK[fmt or "moodle"])


def unmapped_keys(question: dict) -> set[str]:
    """The keys of a Moodle export input that from_moodle does not read (each must be listed above)."""
    qtype = question["qtype"]
    left = set(question) - _QUESTION_KEYS
    options = question.get("options", {})
    left |= set(options) - _OPTION_KEYS
    for answer in (options.get("answers") or {}).values():
        left |= set(answer) - _ANSWER_KEYS.get(qtype, set())
    for sub in (options.get("subquestions") or {}).values():
        left |= set(sub) - _SUBQUESTION_KEYS
    return left


def from_moodle(question: dict) -> Question:
    """Our question for a Moodle export input (id-keyed collections are read in order)."""
    fmt = FORMATS_BACK[question["questiontextformat"]]
    common: dict[str, Any] = {
        "text": RichText(question["questiontext"], fmt),
        "name": question.get("name") or None,
        "points": float(question.get("defaultmark", 1)),
        "general_feedback": _rich(question.get("generalfeedback"), question.get("generalfeedbackformat")),
        "tags": tuple(question.get("tags") or ()),
        "idnumber": question.get("idnumber") or None,
    }
    options = question.get("options", {})
    answers = list((options.get("answers") or {}).values())
    qtype = question["qtype"]
    if qtype == "multichoice":
        choices = tuple(Choice(RichText(a["answer"], FORMATS_BACK[a.get("answerformat", "moodle")]),
                               float(a["fraction"]), _rich(a.get("feedback"), a.get("feedbackformat")))
                        for a in answers)
        cls = SingleChoice if int(options["single"]) else MultipleResponse
        return cls(**common, choices=choices)
    if qtype == "shortanswer":
        return ShortAnswer(**common, answers=tuple(
            TextAnswer(a["answer"], float(a["fraction"]), _rich(a.get("feedback"), a.get("feedbackformat")))
            for a in answers), case_sensitive=bool(int(options.get("usecase", 0))))
    if qtype == "numerical":
        numeric = []
        for a in answers:
            feedback = _rich(a.get("feedback"), a.get("feedbackformat"))
            if a["answer"] in ("*", ""):  # Moodle's "any other number"
                numeric.append(NumericAnswer(fraction=float(a["fraction"]), feedback=feedback))
            else:
                numeric.append(NumericAnswer(fraction=float(a["fraction"]), value=float(a["answer"]),
                                             tolerance=float(a["tolerance"]), feedback=feedback))
        return Numerical(**common, answers=tuple(numeric))
    if qtype == "truefalse":
        by_id = options["answers"]
        true, false = by_id[str(options["trueanswer"])], by_id[str(options["falseanswer"])]
        return TrueFalse(**common, answer=float(true["fraction"]) == 1,
                         feedback_true=_rich(true.get("feedback"), true.get("feedbackformat")),
                         feedback_false=_rich(false.get("feedback"), false.get("feedbackformat")))
    if qtype == "match":
        return Matching(**common, pairs=tuple(
            Pair(RichText(s["questiontext"], FORMATS_BACK[s["questiontextformat"]]), s["answertext"])
            for s in options["subquestions"].values()))
    if qtype == "essay":
        return Essay(**common, grader_info=_rich(options.get("graderinfo"), options.get("graderinfoformat")))
    if qtype == "description":
        return Description(**common)
    raise ValueError(f"no mapping for Moodle qtype {qtype!r}")
