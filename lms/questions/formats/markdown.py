"""The Markdown quiz syntax (specified with examples in docs/course-format.md, "Quizzes").

    ## Question text {type=multi points=2 key=mutable lesson=types-and-duplicates}
    More question text, code blocks...
    - [x] a correct option
      > feedback for this option
    - [ ] {-50%} a wrong option with an explicit weight
    > General feedback (the explanation), shown after answering.

Answers, by what the lines after the question text look like:
- ``- [x]`` / ``- [ ]`` task items: single choice (one [x]) or multiple response (several [x]);
- ``= answer`` lines: short answer, numerical (when every answer is a number, ``3 +- 0.5``, or a
  range ``1..5``), or true/false (``= true`` / ``= false``); ``= *`` is a catch-all;
- ``- prompt -> answer`` items: matching (``- -> answer`` is a distractor);
- ``1.`` numbered items with ``{type=ordering}``: ordering, listed in the correct order;
- ``[[Paris | paris, france]]`` gaps in the text: fill in the blanks (``[[select: *France | Spain]]``
  for a drop-down); ``{type=essay}`` and ``{type=description}`` have no answers.

The parser works line by line so that every error names the line where it starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lms.questions.formats import ExportResult
from lms.questions.model import (
    Choice,
    Description,
    Essay,
    FillInBlanks,
    Gap,
    Matching,
    MultipleResponse,
    Numerical,
    NumericAnswer,
    Ordering,
    Pair,
    Question,
    QuestionError,
    Quiz,
    RichText,
    ShortAnswer,
    SingleChoice,
    TextAnswer,
    TrueFalse,
)


class MarkdownQuizError(QuestionError):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.detail = message


HEADING = re.compile(r"^##\s+(?P<text>.*?)\s*(?:\{(?P<attrs>[^{}]*)\})?\s*$")
TASK_ITEM = re.compile(r"^[-*]\s+\[(?P<mark>[ xX])\]\s+(?P<rest>.*)$")
ANSWER_LINE = re.compile(r"^=\s+(?P<rest>.*)$")
NUMBERED_ITEM = re.compile(r"^\d+[.)]\s+(?P<rest>.*)$")
BULLET_ITEM = re.compile(r"^[-*]\s+(?P<rest>.*)$")
WEIGHT = re.compile(r"^\{(?P<weight>-?\d+(?:\.\d+)?)%\}\s*(?P<rest>.*)$")
GAP = re.compile(r"\[\[(?P<body>.*?)\]\]")
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
NUMERIC_VALUE = re.compile(rf"^(?P<value>{NUMBER})(?:\s*(?:\+-|±|\+/-)\s*(?P<tolerance>{NUMBER}))?$")
NUMERIC_RANGE = re.compile(rf"^(?P<low>{NUMBER})\s*\.\.\s*(?P<high>{NUMBER})$")
ATTRIBUTE_KEYS = ("type", "points", "key", "lesson", "case")
EXPLICIT_TYPES = ("single", "multi", "truefalse", "short", "numerical", "matching", "ordering", "cloze", "essay",
                  "description")


@dataclass
class _Item:
    """An answer line with its continuation and feedback lines."""

    kind: str  # "task", "answer", "pair", "numbered"
    line: int
    text: str
    mark: bool = False
    feedback: list[str] = field(default_factory=list)


@dataclass
class _Block:
    heading: str
    attrs: dict[str, str]
    line: int
    text_lines: list[str] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    general_feedback: list[str] = field(default_factory=list)


def parse(body: str, *, title: str, settings: dict | None = None, first_line: int = 1,
          question_lines: list[int] | None = None) -> Quiz:
    """Parse a quiz body (the Markdown after the front matter). ``first_line`` is the body's line
    number in the file, so errors name the file's lines; ``question_lines``, if given, receives the
    line of each question's heading (the canonical model keeps no positions)."""
    blocks, intro = _split(body, first_line)
    if question_lines is not None:
        question_lines.extend(block.line for block in blocks)
    questions = tuple(_question(block) for block in blocks)
    if not questions:
        raise MarkdownQuizError(first_line, "the quiz has no questions: start each one with a `## ` heading")
    description = RichText(_markdown(intro)) if _markdown(intro).strip() else None
    return Quiz(title=title, settings=dict(settings or {}), questions=questions, description=description)


# -- splitting into question blocks ---------------------------------------------------------------

def _split(body: str, first_line: int) -> tuple[list[_Block], list[str]]:
    """The question blocks, and the introduction (the lines before the first question)."""
    blocks: list[_Block] = []
    intro: list[str] = []
    in_code = False
    current: _Block | None = None
    for offset, raw in enumerate(body.splitlines()):
        number = first_line + offset
        line = raw.rstrip()
        is_fence = line.lstrip().startswith(("```", "~~~"))
        if is_fence:
            in_code = not in_code
        if not in_code and not is_fence and line.startswith("## "):
            match = HEADING.match(line)
            current = _Block(match.group("text"), _attributes(match.group("attrs"), number), number)
            blocks.append(current)
        elif current is not None:
            _add_line(current, line, number, code=is_fence or in_code)
        else:
            intro.append(line)
    if in_code:
        raise MarkdownQuizError(first_line + len(body.splitlines()) - 1, "a code block is not closed: add ```")
    return blocks, intro


def _attributes(text: str | None, line: int) -> dict[str, str]:
    attrs: dict[str, str] = {}
    for token in (text or "").split():
        key, sep, value = token.partition("=")
        if not sep:
            if key in EXPLICIT_TYPES:
                key, value = "type", key
            else:
                raise MarkdownQuizError(line, f"`{token}` in {{...}}: write key=value, e.g. type=multi points=2")
        if key not in ATTRIBUTE_KEYS:
            raise MarkdownQuizError(line, f"unknown question setting `{key}`; use one of {', '.join(ATTRIBUTE_KEYS)}")
        attrs[key] = value
    if "type" in attrs and attrs["type"] not in EXPLICIT_TYPES:
        raise MarkdownQuizError(line, f"unknown question type `{attrs['type']}`; "
                                      f"use one of {', '.join(EXPLICIT_TYPES)}")
    return attrs


def _add_line(block: _Block, line: str, number: int, code: bool) -> None:
    indented = line.startswith(("  ", "\t"))
    stripped = line.strip()
    if code:
        if block.items:
            raise MarkdownQuizError(number, "a code block after the answers: put code in the question text")
        block.text_lines.append(line)
        return
    if block.items and indented and stripped.startswith(">"):
        block.items[-1].feedback.append(stripped[1:].strip())
        return
    if block.items and indented and stripped:
        block.items[-1].text += " " + stripped
        return
    if stripped.startswith(">") and (block.items or block.general_feedback):
        block.general_feedback.append(stripped[1:].strip())
        return
    item = _answer_item(line, number, block)
    if item is not None:
        if block.general_feedback:
            raise MarkdownQuizError(number, "answers after the general feedback: move the `>` lines below the answers")
        block.items.append(item)
        return
    if not stripped:
        if block.general_feedback:
            block.general_feedback.append("")
        elif not block.items:
            block.text_lines.append("")
        return
    if block.items:
        raise MarkdownQuizError(number, "text after the answers: put it above the answers (question text) or start "
                                        "it with `>` (general feedback)")
    block.text_lines.append(line)


def _answer_item(line: str, number: int, block: _Block) -> _Item | None:
    if match := TASK_ITEM.match(line):
        return _Item("task", number, match.group("rest").strip(), mark=match.group("mark") in "xX")
    if match := ANSWER_LINE.match(line):
        return _Item("answer", number, match.group("rest").strip())
    if block.attrs.get("type") == "ordering" and (match := NUMBERED_ITEM.match(line)):
        return _Item("numbered", number, match.group("rest").strip())
    if match := BULLET_ITEM.match(line):
        rest = match.group("rest")
        if " -> " in f" {rest} " or rest.startswith("-> "):
            return _Item("pair", number, rest.strip())
        if block.items and block.items[-1].kind == "pair":
            raise MarkdownQuizError(number, "a matching pair without a partner: write `- prompt -> answer`")
    return None


# -- building questions ---------------------------------------------------------------------------

def _markdown(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n")


def _weight(text: str, line: int) -> tuple[float | None, str]:
    match = WEIGHT.match(text)
    if not match:
        return None, text
    weight = float(match.group("weight")) / 100
    if not -1.0 <= weight <= 1.0:
        raise MarkdownQuizError(line, f"a weight of {match.group('weight')}% is out of range: use -100% to 100%")
    return weight, match.group("rest").strip()


def _feedback(lines: list[str]) -> RichText | None:
    text = _markdown(lines)
    return RichText(text) if text else None


def _trailing_feedback(block: _Block) -> None:
    """A question without answer lines (fill-in-the-blanks, essay, description) ends with its general
    feedback: the `>` lines after its text."""
    if block.items or block.general_feedback:
        return
    lines = block.text_lines
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].startswith(">"):
        start -= 1
    if start < end and start > 0:  # (a question made only of a quote keeps it as its text)
        block.general_feedback = [line[1:].strip() for line in lines[start:end]]
        del lines[start:]


def _question(block: _Block) -> Question:
    _trailing_feedback(block)
    attrs = block.attrs
    text = _markdown([block.heading, *([""] if block.text_lines and block.text_lines[0] else []), *block.text_lines])
    common = {
        "text": RichText(text),
        "name": _plain(block.heading),
        "key": attrs.get("key"),
        "points": _points(attrs.get("points"), block.line),
        "general_feedback": _feedback(block.general_feedback),
        "lesson": attrs.get("lesson"),
    }
    kinds = {item.kind for item in block.items}
    if len(kinds) > 1:
        raise MarkdownQuizError(block.items[0].line, "mixed answer styles: use only `- [x]` options, only `= answer` "
                                                     "lines, or only `- prompt -> answer` pairs in one question")
    kind = kinds.pop() if kinds else None
    declared = attrs.get("type")
    if declared in (None, "cloze") and any(GAP.search(part) for part, code in _code_split(text) if not code):
        return _cloze(block, common)
    if declared in ("essay", "description") or (kind is None and declared is None):
        if block.items:
            raise MarkdownQuizError(block.items[0].line, f"a {declared} question has no answers: remove them")
        if declared is None:
            raise MarkdownQuizError(block.line, "the question has no answers: add options (`- [x] ...`), answers "
                                                "(`= ...`) or pairs (`- a -> b`), or mark it {type=essay} or "
                                                "{type=description}")
        return (Essay if declared == "essay" else Description)(**common)
    if kind == "task":
        return _choice(block, common, declared)
    if kind == "pair":
        return _matching(block, common, declared)
    if kind == "numbered":
        _no_item_feedback(block, "ordering items")
        return Ordering(**common, items=tuple(RichText(i.text) for i in block.items))
    return _answers(block, common, declared)


def _plain(heading: str) -> str:
    return heading.replace("`", "").strip()


def _points(value: str | None, line: int) -> float:
    if value is None:
        return 1.0
    try:
        points = float(value)
    except ValueError:
        points = -1.0
    if points <= 0:
        raise MarkdownQuizError(line, f"points={value}: write a positive number, e.g. points=2")
    return points


def _choice(block: _Block, common: dict, declared: str | None) -> Question:
    marked = [item for item in block.items if item.mark]
    if not marked:
        raise MarkdownQuizError(block.items[0].line, "no option is marked correct: mark it `- [x]`")
    kind = declared or ("single" if len(marked) == 1 else "multi")
    if kind not in ("single", "multi"):
        raise MarkdownQuizError(block.line, f"`- [x]` options make a single or multi question, not {kind}")
    if kind == "single" and len(marked) > 1:
        raise MarkdownQuizError(marked[1].line, f"a single-choice question with {len(marked)} correct options: "
                                                "mark only one `[x]`, or make it {type=multi}")
    unmarked = len(block.items) - len(marked)
    choices = []
    for item in block.items:
        weight, text = _weight(item.text, item.line)
        if weight is None:
            # Defaults: single choice 100% / 0%. Multiple response: the correct options share 100%, and
            # each wrong option takes away as much as a correct one gives, so ticking everything scores 0.
            if kind == "single":
                weight = 1.0 if item.mark else 0.0
            else:
                weight = 1 / len(marked) if item.mark else (-1 / len(marked) if unmarked else 0.0)
        elif item.mark != (weight > 0):
            raise MarkdownQuizError(item.line, f"`[{'x' if item.mark else ' '}]` with a weight of {weight * 100:g}%: "
                                               "mark options with a positive weight [x], the others [ ]")
        choices.append(Choice(RichText(text), round(weight, 7), _feedback(item.feedback)))
    cls = SingleChoice if kind == "single" else MultipleResponse
    return cls(**common, choices=tuple(choices))


def _no_item_feedback(block: _Block, what: str) -> None:
    for item in block.items:
        if item.feedback:
            raise MarkdownQuizError(item.line + 1, f"{what} have no feedback of their own: write the explanation "
                                                   "as `>` lines after the list, not indented")


def _matching(block: _Block, common: dict, declared: str | None) -> Question:
    _no_item_feedback(block, "matching pairs")
    if declared not in (None, "matching"):
        raise MarkdownQuizError(block.line, f"`- prompt -> answer` pairs make a matching question, not {declared}")
    pairs = []
    for item in block.items:
        prompt, _, answer = item.text.partition("->")
        if not answer.strip():
            raise MarkdownQuizError(item.line, "a matching pair without a partner: write `- prompt -> answer`")
        pairs.append(Pair(RichText(prompt.strip()), answer.strip()))
    return Matching(**common, pairs=tuple(pairs))


def _answers(block: _Block, common: dict, declared: str | None) -> Question:
    parsed = []
    for item in block.items:
        weight, text = _weight(item.text, item.line)
        parsed.append((item, 1.0 if weight is None else weight, text))
    texts = [text for _, _, text in parsed]
    lowered = {t.lower() for t in texts}
    if declared == "truefalse" or (declared is None and len(texts) == 1 and lowered <= {"true", "false"}):
        if len(parsed) != 1 or texts[0].lower() not in ("true", "false"):
            raise MarkdownQuizError(block.items[0].line, "a true/false question has one line: `= true` or `= false`")
        item = parsed[0][0]
        # Feedback lines: the first for a learner who answers true, the second for false (an empty
        # `>` line keeps the place of a missing first one).
        lines = item.feedback
        if len(lines) > 2:
            raise MarkdownQuizError(item.line, "a true/false question has at most two feedback lines: the first "
                                               "for the answer true, the second for false")
        return TrueFalse(**common, answer=texts[0].lower() == "true",
                         feedback_true=RichText(lines[0]) if lines and lines[0] else None,
                         feedback_false=RichText(lines[1]) if len(lines) > 1 and lines[1] else None)
    numeric = [t == "*" or NUMERIC_VALUE.match(t) or NUMERIC_RANGE.match(t) for t in texts]
    if declared == "numerical" or (declared is None and all(numeric) and any(t != "*" for t in texts)):
        answers = []
        for item, weight, text in parsed:
            answers.append(_numeric_answer(item, weight, text))
        return Numerical(**common, answers=tuple(answers))
    if declared not in (None, "short"):
        raise MarkdownQuizError(block.line, f"`= answer` lines make a short, numerical or true/false question, "
                                            f"not {declared}")
    answers = []
    for item, weight, text in parsed:
        regex = len(text) >= 2 and text.startswith("/") and text.endswith("/")
        # A catch-all is for feedback on every other answer, not a free point: 0% unless weighted.
        fraction = 0.0 if text == "*" and not WEIGHT.match(item.text) else weight
        answers.append(TextAnswer(text[1:-1] if regex else text, fraction, _feedback(item.feedback), regex))
    return ShortAnswer(**common, answers=tuple(answers), case_sensitive=block.attrs.get("case") == "sensitive")


def _numeric_answer(item: _Item, weight: float, text: str) -> NumericAnswer:
    feedback = _feedback(item.feedback)
    if text == "*":
        return NumericAnswer(weight if weight != 1.0 else 0.0, feedback=feedback)
    if match := NUMERIC_RANGE.match(text):
        return NumericAnswer(weight, low=float(match.group("low")), high=float(match.group("high")), feedback=feedback)
    if match := NUMERIC_VALUE.match(text):
        tolerance = match.group("tolerance")
        return NumericAnswer(weight, value=float(match.group("value")),
                             tolerance=float(tolerance) if tolerance else None, feedback=feedback)
    raise MarkdownQuizError(item.line, f"`{text}` is not a number: write `= 3.5`, `= 3.5 +- 0.1` or `= 1..5`")


def _cloze(block: _Block, common: dict) -> FillInBlanks:
    gaps: list[Gap] = []

    def replace(match: re.Match) -> str:
        body = match.group("body").strip()
        if body.startswith("select:"):
            options = [o.strip() for o in body[len("select:"):].split("|")]
            if sum(1 for o in options if o.startswith("*")) != 1:
                raise MarkdownQuizError(block.line, f"the drop-down [[{body}]] needs exactly one correct option "
                                                    "marked with *")
            choices = tuple(Choice(RichText(o.lstrip("*").strip()), 1.0 if o.startswith("*") else 0.0)
                            for o in options)
            gaps.append(Gap("select", choices=choices))
        else:
            answers = tuple(TextAnswer(a.strip()) for a in body.split("|") if a.strip())
            if not answers:
                raise MarkdownQuizError(block.line, "an empty gap [[ ]]: write the accepted answer inside it")
            gaps.append(Gap("short", answers=answers, case_sensitive=block.attrs.get("case") == "sensitive"))
        return f"[[{len(gaps)}]]"

    text = "".join(part if code else GAP.sub(replace, part) for part, code in _code_split(common["text"].text))
    if block.items:
        raise MarkdownQuizError(block.items[0].line, "a fill-in-the-blanks question has its answers in the "
                                                     "[[gaps]]: remove the answer lines")
    return FillInBlanks(**{**common, "text": RichText(text)}, gaps=tuple(gaps))


_CODE = re.compile(r"(^```.*?^```[ \t]*$|^~~~.*?^~~~[ \t]*$|`[^`\n]+`)", re.MULTILINE | re.DOTALL)


def _code_split(text: str) -> list[tuple[str, bool]]:
    """Text cut into (part, is_code): gaps are never looked for inside code blocks or code spans."""
    parts, last = [], 0
    for match in _CODE.finditer(text):
        parts.append((text[last:match.start()], False))
        parts.append((match.group(0), True))
        last = match.end()
    parts.append((text[last:], False))
    return parts


# -- writing --------------------------------------------------------------------------------------

def export(quiz: Quiz) -> ExportResult:
    """The quiz in the Markdown syntax (front matter included). What it cannot say is listed."""
    import yaml  # noqa: PLC0415 (only needed when writing)

    unexpressed: list[str] = []
    front = {"type": "quiz", "title": quiz.title, **quiz.settings}
    parts = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).strip(), "---", ""]
    if quiz.description is not None:
        if quiz.description.format != "markdown":
            unexpressed.append(f"quiz: the {quiz.description.format} introduction is written as Markdown")
        parts.extend([quiz.description.text, ""])
    for n, question in enumerate(quiz.questions, start=1):
        parts.extend(_write_question(question, n, unexpressed))
    return ExportResult("\n".join(parts).rstrip() + "\n", unexpressed)


def _write_question(q: Question, n: int, unexpressed: list[str]) -> list[str]:
    label = q.name or f"question {n}"
    for rich in _texts(q):
        if rich.format != "markdown":
            unexpressed.append(f"{label}: {rich.format} text is written as Markdown")
            break
    if q.category:
        unexpressed.append(f"{label}: category {q.category!r}")
    if q.tags or q.idnumber:
        unexpressed.append(f"{label}: tags and idnumber")
    if getattr(q, "grader_info", None):
        unexpressed.append(f"{label}: information for graders")
    if isinstance(q, TrueFalse) and any(f and "\n" in f.text for f in (q.feedback_true, q.feedback_false)):
        unexpressed.append(f"{label}: true/false feedback of several lines (one line each in Markdown)")
    heading, _, rest = q.text.text.partition("\n")
    attrs = []
    inferred = _inferred_type(q)
    if inferred != q.type:
        attrs.append(f"type={q.type}")
    if q.points != 1:
        attrs.append(f"points={_num(q.points)}")
    if q.key:
        attrs.append(f"key={q.key}")
    if q.lesson:
        attrs.append(f"lesson={q.lesson}")
    if getattr(q, "case_sensitive", False) or any(g.case_sensitive for g in getattr(q, "gaps", ())):
        attrs.append("case=sensitive")
    lines = [f"## {heading}" + (f" {{{' '.join(attrs)}}}" if attrs else "")]
    text_rest = rest.strip("\n")
    if isinstance(q, FillInBlanks):
        full = _cloze_text(q)
        heading, _, rest = full.partition("\n")
        lines[0] = f"## {heading}" + (f" {{{' '.join(attrs)}}}" if attrs else "")
        text_rest = rest.strip("\n")
    if text_rest:
        lines.extend(["", text_rest])
    lines.extend(_write_answers(q))
    if q.general_feedback:
        lines.extend(f"> {line}".rstrip() for line in q.general_feedback.text.splitlines())
    lines.append("")
    return lines


def _texts(q: Question) -> list[RichText]:
    found = [q.text]
    found += [c.text for c in getattr(q, "choices", ())]
    found += [p.prompt for p in getattr(q, "pairs", ())]
    found += list(getattr(q, "items", ()))
    return found


def _inferred_type(q: Question) -> str | None:
    if isinstance(q, (SingleChoice, MultipleResponse)):
        return "single" if sum(1 for c in q.choices if c.fraction > 0) == 1 else "multi"
    if isinstance(q, TrueFalse):
        return "truefalse"
    if isinstance(q, Numerical):
        return "numerical"
    if isinstance(q, ShortAnswer):
        texts = [a.text for a in q.answers]
        if all(t == "*" or NUMERIC_VALUE.match(t) or NUMERIC_RANGE.match(t) for t in texts):
            return "numerical"
        if len(texts) == 1 and texts[0].lower() in ("true", "false"):
            return "truefalse"
        return "short"
    if isinstance(q, Matching):
        return "matching"
    if isinstance(q, FillInBlanks):
        return "cloze"
    return None  # ordering, essay and description are always declared


def _num(value: float) -> str:
    """A number written so that it reads back exactly (1234567.5, not 1.23457e+06)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _fmt_weight(weight: float) -> str:
    return f"{{{_num(round(weight * 100, 7))}%}} "


def _write_feedback(feedback: RichText | None, indent: str = "  ") -> list[str]:
    return [f"{indent}> {line}".rstrip() for line in feedback.text.splitlines()] if feedback else []


def _write_answers(q: Question) -> list[str]:
    lines: list[str] = []
    if isinstance(q, (SingleChoice, MultipleResponse)):
        marked = [c for c in q.choices if c.fraction > 0]
        unmarked = len(q.choices) - len(marked)
        for c in q.choices:
            if isinstance(q, SingleChoice):
                default = 1.0 if c.fraction > 0 else 0.0
            else:
                default = 1 / len(marked) if c.fraction > 0 else (-1 / len(marked) if unmarked else 0.0)
            weight = "" if abs(c.fraction - round(default, 7)) < 1e-9 else _fmt_weight(c.fraction)
            lines.append(f"- [{'x' if c.fraction > 0 else ' '}] {weight}{c.text.text}")
            lines.extend(_write_feedback(c.feedback))
    elif isinstance(q, TrueFalse):
        lines.append(f"= {'true' if q.answer else 'false'}")
        if q.feedback_true or q.feedback_false:
            lines.append(f"  > {q.feedback_true.text if q.feedback_true else ''}".rstrip())
            if q.feedback_false:
                lines.append(f"  > {q.feedback_false.text}")
    elif isinstance(q, ShortAnswer):
        for a in q.answers:
            default = 0.0 if a.text == "*" and not a.regex else 1.0
            weight = "" if a.fraction == default else _fmt_weight(a.fraction)
            lines.append(f"= {weight}{'/' + a.text + '/' if a.regex else a.text}")
            lines.extend(_write_feedback(a.feedback))
    elif isinstance(q, Numerical):
        for a in q.answers:
            if a.is_catch_all:
                value, default = "*", 0.0
            elif a.low is not None:
                value, default = f"{_num(a.low)}..{_num(a.high)}", 1.0
            else:
                value = _num(a.value) + (f" +- {_num(a.tolerance)}" if a.tolerance is not None else "")
                default = 1.0
            weight = "" if a.fraction == default else _fmt_weight(a.fraction)
            lines.append(f"= {weight}{value}")
            lines.extend(_write_feedback(a.feedback))
    elif isinstance(q, Matching):
        lines.extend(f"- {p.prompt.text} -> {p.answer}".replace("-  ->", "- ->") for p in q.pairs)
    elif isinstance(q, Ordering):
        lines.extend(f"{n}. {item.text}" for n, item in enumerate(q.items, start=1))
    return lines


def _cloze_text(q: FillInBlanks) -> str:
    def gap_text(match: re.Match) -> str:
        gap = q.gaps[int(match.group(1)) - 1]
        if gap.kind == "select":
            return "[[select: " + " | ".join(("*" if c.fraction >= 1 else "") + c.text.text for c in gap.choices) + "]]"
        return "[[" + " | ".join(a.text for a in gap.answers) + "]]"

    return re.sub(r"\[\[(\d+)\]\]", gap_text, q.text.text)
