"""Converting a quiz file between the Markdown syntax, GIFT and the canonical JSON."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lms.content.quizfiles import load_quiz
from lms.content.source import ERROR, Problem, SourceError, read_text
from lms.questions.formats import canonical
from lms.questions.formats import markdown as markdown_quiz
from lms.questions.model import QuestionError, Quiz


class ConversionError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Converted:
    text: str
    unexpressed: list[str]


def read(path: Path) -> Quiz:
    """Any supported quiz file as a Quiz; ConversionError lists what is wrong with it."""
    display = str(path)
    if path.suffix.lower() == ".json":
        try:
            return canonical.loads(read_text(path, display))
        except SourceError as exc:
            raise ConversionError([exc.problem]) from None
        except QuestionError as exc:
            raise ConversionError([Problem(display, 0, str(exc))]) from None
    if path.suffix.lower() not in (".md", ".gift"):
        raise ConversionError([Problem(display, 0, "unknown quiz format: use a .md, .gift or .json file")])
    loaded = load_quiz(path, display)
    errors = [p for p in loaded.problems if p.severity == ERROR]
    if errors or loaded.quiz is None:
        raise ConversionError(errors or list(loaded.problems))
    return loaded.quiz


def convert(path: Path, target: str) -> Converted:
    quiz = read(path)
    if target == "json":
        return Converted(canonical.dumps(quiz), [])
    if target == "md":
        result = markdown_quiz.export(quiz)
    else:
        from lms.questions.formats import gift  # noqa: PLC0415

        result = gift.export(quiz)
    return Converted(result.text, list(result.unexpressed))
