"""The canonical question model: what every quiz format (Markdown, GIFT, JSON) parses into.

Pure Python. One dataclass per question type, registered in QUESTION_TYPES under the name used in
the canonical JSON's "type" field. The canonical JSON of a quiz is ``{"title", "settings",
"questions": [...]}``; each question is the ``to_json()`` of its class: keys in a fixed order, keys
whose value is None or an empty list left out, no source positions and no generated ids, so the
same quiz always gives the same JSON.

Scoring lives with each type (lms/questions/scoring.py adds it); formats live in lms/questions/formats/.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

# Text formats, as in Moodle's GIFT ([markdown], [html], [plain], [moodle]). Markdown is the default
# for quizzes written in Markdown; GIFT's default is "moodle" (Moodle's auto-format).
TEXT_FORMATS = ("markdown", "html", "plain", "moodle")


class QuestionError(ValueError):
    """A question that cannot be valid; the message says what to write instead."""


@dataclass(frozen=True)
class RichText:
    text: str
    format: str = "markdown"

    def to_json(self) -> dict:
        return {"text": self.text, "format": self.format}

    @classmethod
    def from_json(cls, data: Any, where: str) -> RichText:
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise QuestionError(f"{where}: expected a text or {{\"text\": ..., \"format\": ...}}")
        fmt = data.get("format", "markdown")
        if fmt not in TEXT_FORMATS:
            raise QuestionError(f"{where}: unknown format {fmt!r}; use one of {', '.join(TEXT_FORMATS)}")
        return cls(data["text"], fmt)


# -- parts of questions -------------------------------------------------------------------------

@dataclass(frozen=True)
class Choice:
    """An option of a single- or multiple-choice question (also a drop-down gap's option)."""

    text: RichText
    fraction: float  # share of the question's points, -1..1; a single-choice correct option has 1
    feedback: RichText | None = None


@dataclass(frozen=True)
class TextAnswer:
    """An accepted (or anticipated wrong) short answer. ``*`` matches anything (a catch-all)."""

    text: str
    fraction: float = 1.0
    feedback: RichText | None = None
    regex: bool = False  # text is a regular expression (full match, time-bounded)


@dataclass(frozen=True)
class NumericAnswer:
    """value ± tolerance, or a range low..high, or (neither) a catch-all for any number."""

    fraction: float = 1.0
    value: float | None = None
    tolerance: float | None = None
    low: float | None = None
    high: float | None = None
    feedback: RichText | None = None

    @property
    def is_catch_all(self) -> bool:
        return self.value is None and self.low is None


@dataclass(frozen=True)
class Pair:
    """A matching pair: a prompt and the answer it goes with. An empty prompt is a distractor."""

    prompt: RichText
    answer: str


@dataclass(frozen=True)
class Gap:
    """One gap of a fill-in-the-blanks question: typed (short answer) or chosen from a drop-down."""

    kind: str  # "short" or "select"
    answers: tuple[TextAnswer, ...] = ()  # kind short
    choices: tuple[Choice, ...] = ()  # kind select
    case_sensitive: bool = False


# -- questions ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Question:
    """Fields every question has. Subclasses add their own and register in QUESTION_TYPES."""

    type: ClassVar[str] = ""
    scored: ClassVar[bool] = True

    text: RichText
    name: str | None = None  # GIFT ::title::, or the Markdown heading; also the default key
    key: str | None = None  # stable identity across edits (versioning); optional
    points: float = 1.0
    general_feedback: RichText | None = None  # shown after answering: the explanation
    category: str | None = None  # GIFT $CATEGORY, an attribute of the question
    tags: tuple[str, ...] = ()
    idnumber: str | None = None
    lesson: str | None = None  # slug of the lesson that teaches this (for review pointers)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or value in ((), []):
                continue
            out[f.name] = _to_json(value)
        return out


def _to_json(value: Any) -> Any:
    if isinstance(value, RichText):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {f.name: _to_json(getattr(value, f.name)) for f in fields(value)
                if getattr(value, f.name) is not None and getattr(value, f.name) != ()}
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1.0 -> 1: stable and readable JSON
    return value


@dataclass(frozen=True)
class SingleChoice(Question):
    type: ClassVar[str] = "single"
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class MultipleResponse(Question):
    type: ClassVar[str] = "multi"
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class TrueFalse(Question):
    type: ClassVar[str] = "truefalse"
    answer: bool = True
    feedback_true: RichText | None = None  # shown to a learner who answered "true"
    feedback_false: RichText | None = None  # shown to a learner who answered "false"


@dataclass(frozen=True)
class ShortAnswer(Question):
    type: ClassVar[str] = "short"
    answers: tuple[TextAnswer, ...] = ()
    case_sensitive: bool = False


@dataclass(frozen=True)
class Numerical(Question):
    type: ClassVar[str] = "numerical"
    answers: tuple[NumericAnswer, ...] = ()


@dataclass(frozen=True)
class Matching(Question):
    type: ClassVar[str] = "matching"
    pairs: tuple[Pair, ...] = ()


@dataclass(frozen=True)
class Ordering(Question):
    type: ClassVar[str] = "ordering"
    items: tuple[RichText, ...] = ()  # in the correct order


@dataclass(frozen=True)
class FillInBlanks(Question):
    """``text`` holds the gaps as ``[[1]]``, ``[[2]]``...; ``gaps[n-1]`` describes gap n."""

    type: ClassVar[str] = "cloze"
    gaps: tuple[Gap, ...] = ()


@dataclass(frozen=True)
class Essay(Question):
    type: ClassVar[str] = "essay"
    grader_info: RichText | None = None


@dataclass(frozen=True)
class Description(Question):
    type: ClassVar[str] = "description"
    scored: ClassVar[bool] = False


QUESTION_TYPES: dict[str, type[Question]] = {
    cls.type: cls
    for cls in (SingleChoice, MultipleResponse, TrueFalse, ShortAnswer, Numerical, Matching, Ordering,
                FillInBlanks, Essay, Description)
}


@dataclass(frozen=True)
class Quiz:
    """A quiz file's content: its settings (front matter / companion YAML) and questions."""

    title: str
    settings: dict = field(default_factory=dict)
    questions: tuple[Question, ...] = ()
    description: RichText | None = None  # an introduction shown before the quiz is started

    def to_json(self) -> dict:
        out: dict[str, Any] = {"title": self.title}
        if self.description is not None:
            out["description"] = self.description.to_json()
        out["settings"] = dict(sorted(self.settings.items()))
        out["questions"] = [q.to_json() for q in self.questions]
        return out
