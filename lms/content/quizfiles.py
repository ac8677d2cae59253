"""Reading one quiz file (Markdown with `type: quiz`, GIFT, or canonical JSON) into a Quiz, with
every problem; and converting between those formats.

Used by the course loader (`flask courses check/sync`) and by `flask quizzes convert`.
Settings come from the Markdown front matter; a .gift file takes them from a companion YAML file
(`04-check.yml` beside `04-check.gift`) or from `// key: value` comment lines at its top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lms.content.fields import QUIZ_FIELDS, validate_mapping
from lms.content.source import ERROR, Problem, SourceError, parse_yaml_mapping, read_text, split_front_matter
from lms.questions.formats import canonical
from lms.questions.formats import markdown as markdown_quiz
from lms.questions.model import QuestionError, Quiz
from lms.questions.scoring import problems as question_problems

LEADING_SETTING = re.compile(r"^//\s*(?P<key>[a-z_]+)\s*:\s*(?P<value>.*)$")


@dataclass(frozen=True)
class QuizFile:
    quiz: Quiz | None  # None when an error stops it
    slug: str | None  # the `slug:` setting, if any
    problems: tuple[Problem, ...]


def load_quiz(path: Path, display: str, with_lines: list[int] | None = None) -> QuizFile:
    """The quiz in a .md or .gift file, with every problem found. ``with_lines`` receives the line
    where each question starts."""
    found: list[Problem] = []
    meta: dict = {}
    try:
        text = read_text(path, display)
        if path.suffix.lower() == ".gift":
            quiz, lines = _gift(path, text, display, found, meta)
        else:
            quiz, lines = _markdown(text, display, found, meta)
    except SourceError as exc:
        return QuizFile(None, None, (*found, exc.problem))
    if quiz is None:
        return QuizFile(None, None, tuple(found))
    if with_lines is not None:
        with_lines.extend(lines)
    draw = quiz.settings.get("draw")
    if draw and draw > len(quiz.questions):
        found.append(Problem(display, 0, f"draw: {draw} is more than the quiz's {len(quiz.questions)} questions"))
    for question, line in zip(quiz.questions, lines, strict=False):
        found.extend(Problem(display, line, message) for message in question_problems(question))
    failed = any(p.severity == ERROR for p in found)
    return QuizFile(None if failed else quiz, meta.get("slug"), tuple(found))


def _settings(mapping, display: str, found: list[Problem], into: dict) -> dict | None:
    """The settings the author wrote, validated (defaults are applied where quizzes are used, so a
    converted file says no more than its source)."""
    meta = validate_mapping(mapping, QUIZ_FIELDS, display, found, "the quiz settings")
    meta = {key: value for key, value in meta.items() if key in mapping.values}
    into.update(meta)
    return meta if "title" in meta else None


def _markdown(text: str, display: str, found: list[Problem], into: dict) -> tuple[Quiz | None, list[int]]:
    doc = split_front_matter(text, display)
    meta = _settings(doc.meta, display, found, into)
    if meta is None:
        return None, []
    lines: list[int] = []
    try:
        quiz = markdown_quiz.parse(doc.body, title=meta["title"], settings=_quiz_settings(meta),
                                   first_line=doc.body_first_line, question_lines=lines)
    except markdown_quiz.MarkdownQuizError as exc:
        found.append(Problem(display, exc.line, exc.detail))
        return None, []
    return quiz, lines


def _gift(path: Path, text: str, display: str, found: list[Problem], into: dict) -> tuple[Quiz | None, list[int]]:
    from lms.questions.formats import gift  # noqa: PLC0415

    companion = path.with_suffix(".yml")
    if companion.exists():
        companion_display = display[: -len(path.suffix)] + ".yml"
        mapping = parse_yaml_mapping(read_text(companion, companion_display), companion_display)
        meta = _settings(mapping, companion_display, found, into)
    else:
        leading = []
        for line in text.splitlines():
            match = LEADING_SETTING.match(line.strip())
            if not match:
                break
            leading.append(f"{match.group('key')}: {match.group('value')}")
        mapping = parse_yaml_mapping("\n".join(leading), display)
        if "type" not in mapping.values:
            mapping.values["type"] = "quiz"
        if "title" not in mapping.values:
            mapping.values["title"] = path.stem.split("-", 1)[-1].replace("-", " ").capitalize()
        meta = _settings(mapping, display, found, into)
    if meta is None:
        return None, []
    lines: list[int] = []
    try:
        quiz = gift.parse(text, title=meta["title"], settings=_quiz_settings(meta), question_lines=lines)
    except QuestionError as exc:
        found.append(Problem(display, getattr(exc, "line", 0), getattr(exc, "detail", str(exc))))
        return None, []
    return quiz, lines


def _quiz_settings(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k not in ("type", "title", "slug") and v is not None}


# -- converting between formats (`flask quizzes convert`) ---------------------------------------

class ConversionError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Converted:
    text: str
    unexpressed: list[str]


def read_any(path: Path) -> Quiz:
    """Any supported quiz file (.md, .gift, .json) as a Quiz; ConversionError lists what is wrong with it."""
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
    quiz = read_any(path)
    if target == "json":
        return Converted(canonical.dumps(quiz), [])
    if target == "md":
        result = markdown_quiz.export(quiz)
    else:
        from lms.questions.formats import gift  # noqa: PLC0415

        result = gift.export(quiz)
    return Converted(result.text, list(result.unexpressed))
