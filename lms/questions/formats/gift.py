"""Moodle's GIFT quiz format: ``parse`` a .gift file into a Quiz, ``export`` a Quiz as GIFT.

Written from Moodle's GIFT documentation and checked against the golden cases Moodle's own tests use
(``tests/questions/test_moodle_gift_cases.py``). What the importer accepts:

- Questions are separated by blank lines. Lines starting with ``//`` are comments; ``[tag:x]`` and
  ``[id:y]`` inside a question's comments become its tags and idnumber.
- ``$CATEGORY: path`` (alone in its block) sets ``category`` on every following question.
- ``::title::`` names a question. ``[html]``, ``[markdown]``, ``[plain]`` or ``[moodle]`` before a
  text sets its format. The question text defaults to ``moodle``; answers, feedback and matching
  prompts without a prefix take the question text's format (never an answer's format).
- Escapes: ``\\~ \\= \\# \\{ \\} \\:`` give the character, ``\\\\`` one backslash (MDL-34171), ``\\n`` a
  newline. Any other backslash is kept as written (LaTeX such as ``\\frac`` survives).
- The answer block ``{...}``:
  ``{}`` essay; no block at all: description; ``{T}``/``{TRUE}``/``{F}``/``{FALSE}`` with optional
  ``#feedback for a wrong response#feedback for a right one``: true/false;
  ``{#...}`` numerical (``3``, ``3:0.5``, ``1..5``, several ``=%50%3:1#feedback`` answers, a bare
  ``~#feedback`` or ``*`` is a catch-all); ``=prompt -> answer`` lines: matching; only ``=`` answers:
  short answer (``*`` is the wildcard answer); otherwise multiple choice: "single" when any answer
  starts with ``=``, "multi" otherwise (even ``~%100%`` alone), as Moodle decides.
  ``%50%`` weights (negative and decimal too), ``#`` answer feedback, ``####`` general feedback.
- Missing word: a choice or short-answer block in the middle of the text. The text keeps ``_____``
  where the block was, and ``export`` puts the block back there, so the question round-trips.
- A matching question needs at least three pairs, at least two of them with a prompt (Moodle's
  documentation asks for three pairs; Moodle's editor for two prompts and three answers). A pair with
  an empty prompt (``= -> Chat``) is a distractor. Pairs take no weights and no feedback.
- Short answers and matching answers are plain strings in the model: a ``[format]`` prefix on them is
  read and dropped, as Moodle does.

Stricter than Moodle, on purpose (the message says what to write instead): an unknown ``[word]``
prefix, text after ``}`` except in a missing-word question, a weight that is not a number in -100..100,
a numerical answer that is not a number, ``->`` mixed with other answers, a second ``{`` block.
Errors raise ``GiftError`` with the 1-based file line where the problem starts; nothing is returned.

GIFT has no points: every imported question is worth 1. The quiz title and settings come from the
caller (file name, companion YAML), not from the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from lms.questions.formats import ExportResult
from lms.questions.model import (
    TEXT_FORMATS,
    Choice,
    Description,
    Essay,
    Matching,
    MultipleResponse,
    Numerical,
    NumericAnswer,
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

__all__ = ["BLANK", "ExportResult", "GiftError", "export", "parse"]

DEFAULT_FORMAT = "moodle"  # GIFT's default text format (Moodle's auto-format)
BLANK = "_____"  # what a missing-word question's text holds where its answer block was
CATEGORY = "$CATEGORY:"

# PHP's trim() set: Moodle trims with it, and Python's str.strip() would also eat non-breaking spaces.
_WS = " \t\n\r\x0b\x0c"

# Escaped characters become placeholders while the structure is read, so every `{`, `=`, `#`... left
# is a real GIFT symbol. They come from Unicode's supplementary private use area (plane 15), which
# a quiz file has no reason to contain; a file that does is refused rather than misread.
_ESCAPABLE = "~=#{}:\\n"
_PLACEHOLDER = {c: chr(0xF0000 + i) for i, c in enumerate(_ESCAPABLE)}
_RESTORE = str.maketrans({ph: ("\n" if c == "n" else c) for c, ph in _PLACEHOLDER.items()})
_RESERVED = re.compile("[\U000f0000-\U000f000f]")

_FORMAT_PREFIX = re.compile(r"\[([A-Za-z]+)\]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_META = re.compile(r"\[(tag|id):((?:\\.|[^\]\\])*)\]")
_TRUE, _FALSE = ("T", "TRUE"), ("F", "FALSE")
_FORMATS_HINT = ", ".join(f"[{f}]" for f in TEXT_FORMATS)


class GiftError(QuestionError):
    """A GIFT file that cannot be imported. ``line`` is the 1-based file line where the problem starts;
    ``detail`` is the message without the line (it says what to write instead)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.detail = message


# -- reading ---------------------------------------------------------------------------------------

class _Src:
    """A slice of one question's (escape-cooked) text that knows the file line of each character,
    so that any error can name the line where its problem starts."""

    __slots__ = ("end_line", "lines", "s")

    def __init__(self, s: str, lines: list[int], end_line: int):
        self.s = s
        self.lines = lines
        self.end_line = end_line  # the line of the position just past the end

    def __getitem__(self, key: slice) -> _Src:
        _, stop, _ = key.indices(len(self.s))
        return _Src(self.s[key], self.lines[key], self.line(stop))

    def line(self, pos: int = 0) -> int:
        return self.lines[pos] if 0 <= pos < len(self.lines) else self.end_line

    def lstrip(self) -> _Src:
        return self[len(self.s) - len(self.s.lstrip(_WS)):]

    def strip(self) -> _Src:
        start = len(self.s) - len(self.s.lstrip(_WS))
        return self[start:max(start, len(self.s.rstrip(_WS)))]

    def text(self) -> str:
        """The trimmed text with escapes turned into the characters they stand for."""
        return self.strip().s.translate(_RESTORE)


def _cook(lines: list[tuple[int, str]]) -> _Src:
    """Join a question's lines (Moodle keeps their newlines) and replace escapes by placeholders."""
    raw: list[str] = []
    where: list[int] = []
    for k, (number, line) in enumerate(lines):
        if k:
            raw.append("\n")
            where.append(lines[k - 1][0])  # a line break belongs to the line it ends
        raw.extend(line)
        where.extend([number] * len(line))
    out: list[str] = []
    out_lines: list[int] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in _ESCAPABLE:
            out.append(_PLACEHOLDER[raw[i + 1]])
            out_lines.append(where[i])
            i += 2
            continue
        out.append(ch)
        out_lines.append(where[i])
        i += 1
    return _Src("".join(out), out_lines, lines[-1][0])


def parse(text: str, *, title: str = "", settings: dict | None = None,
          question_lines: list[int] | None = None) -> Quiz:
    """A whole .gift file as a Quiz (see the module docstring for the syntax).

    ``title`` and ``settings`` come from the caller, since GIFT has neither. ``question_lines``, if
    given, receives the file line where each question starts (for problems found later).
    Raises GiftError on the first problem: nothing is imported from a file with an error.
    """
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    reserved = _RESERVED.search(text)
    if reserved:
        line = text.count("\n", 0, reserved.start()) + 1
        raise GiftError(line, f"the character U+{ord(reserved.group()):X} is reserved by this importer: "
                              "remove it from the file")
    questions: list[Question] = []
    starts: list[int] = []
    category: str | None = None
    for chunk in _chunks(text.split("\n")):
        code = [(n, line) for n, line in chunk if not _is_comment(line)]
        if not code:
            continue  # a block of comments only, e.g. a file header
        first_line, first = code[0]
        if first.lstrip(_WS).startswith(CATEGORY):
            if len(code) > 1:
                raise GiftError(code[1][0], "a $CATEGORY line stands alone: put a blank line between it and "
                                            "the next question")
            category = first.lstrip(_WS)[len(CATEGORY):].strip(_WS)
            if not category:
                raise GiftError(first_line, "$CATEGORY needs a category path, e.g. $CATEGORY: course/Week 1")
            continue
        tags, idnumber = _meta([(n, line) for n, line in chunk if _is_comment(line)])
        question = _question(_cook(code))
        questions.append(replace(question, category=category, tags=tags, idnumber=idnumber))
        starts.append(first_line)  # the question itself, not the comments above it
    if question_lines is not None:
        question_lines.extend(starts)
    return Quiz(title=title, settings=dict(settings or {}), questions=tuple(questions))


def _chunks(lines: list[str]) -> list[list[tuple[int, str]]]:
    """The file's questions: runs of non-blank lines (with their 1-based numbers)."""
    chunks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip(_WS):
            current.append((number, line))
        elif current:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


def _is_comment(line: str) -> bool:
    return line.lstrip(_WS).startswith("//")


def _meta(comments: list[tuple[int, str]]) -> tuple[tuple[str, ...], str | None]:
    """Tags and idnumber from ``[tag:x]`` / ``[id:y]`` in the comment lines (``\\]`` for a literal ])."""
    tags: list[str] = []
    idnumber: str | None = None
    for number, line in comments:
        for match in _META.finditer(line):
            value = re.sub(r"\\(.)", r"\1", match.group(2)).strip(_WS)
            if not value:
                continue
            if match.group(1) == "tag":
                tags.append(value)
            elif idnumber is None:
                idnumber = value
            elif value != idnumber:
                raise GiftError(number, f"a question has one idnumber: [id:{idnumber}] and [id:{value}] "
                                        "both given; keep one")
    return tuple(tags), idnumber


def _take_format(src: _Src, default: str) -> tuple[str, _Src]:
    """A leading ``[format]`` prefix, if any, and the text after it."""
    src = src.lstrip()
    match = _FORMAT_PREFIX.match(src.s)
    if not match:
        return default, src
    name = match.group(1)
    if name not in TEXT_FORMATS:
        hint = f" (formats are lowercase: [{name.lower()}])" if name.lower() in TEXT_FORMATS else ""
        raise GiftError(src.line(0), f"unknown format [{name}]{hint}: use one of {_FORMATS_HINT}; to start a "
                                     f"text with a literal [{name}], put a format before it, e.g. [moodle][{name}]")
    return name, src[match.end():]


def _rich(src: _Src, default: str) -> RichText:
    fmt, rest = _take_format(src, default)
    return RichText(rest.text(), fmt)


def _optional_rich(src: _Src | None, default: str) -> RichText | None:
    """Feedback: None when absent or empty (an empty feedback says nothing)."""
    if src is None:
        return None
    rich = _rich(src, default)
    return rich if rich.text else None


def _question(body: _Src) -> Question:
    """One question from its cooked, comment-free text."""
    body = body.strip()
    name: str | None = None
    if body.s.startswith("::"):
        end = body.s.find("::", 2)
        if end < 0:
            raise GiftError(body.line(0), "the title is not closed: write ::title:: before the question text "
                                          r"(or \: for a literal colon)")
        name = body[2:end].text() or None
        body = body[end + 2:]
    fmt, body = _take_format(body, DEFAULT_FORMAT)
    common = {"name": name}

    opening = body.s.find("{")
    closing = body.s.find("}")
    if opening < 0:
        if closing >= 0:
            raise GiftError(body.line(closing), r"'}' without an answer block: write \} for a literal brace")
        text = body.text()
        if not text:
            raise GiftError(body.line(0), "the question has no text and no answer block")
        return Description(text=RichText(text, fmt), **common)
    if 0 <= closing < opening:
        raise GiftError(body.line(closing), r"'}' before the answer block: write \} for a literal brace")
    closing = body.s.find("}", opening + 1)
    if closing < 0:
        raise GiftError(body.line(opening), "the answer block opened here is not closed: end it with } (a blank "
                                            r"line ends a question; write \n for a line break, \{ for a brace)")
    nested = body.s.find("{", opening + 1, closing)
    if nested >= 0:
        raise GiftError(body.line(nested), r"'{' inside an answer block: write \{ for a literal brace, or close "
                                           "the block with } first")
    before, block, after = body[:opening], body[opening + 1:closing], body[closing + 1:]
    extra = next((i for i, ch in enumerate(after.s) if ch in "{}"), -1)
    if extra >= 0:
        raise GiftError(after.line(extra), r"a question has one answer block: write \{ and \} for literal braces, "
                                           "or separate questions with a blank line")

    general_feedback = None
    cut = block.s.rfind("####")  # Moodle reads general feedback from the last ####
    if cut >= 0:
        general_feedback = _optional_rich(block[cut + 4:], fmt)
        block = block[:cut]
    common["general_feedback"] = general_feedback

    tail = after.strip()
    missing_word = bool(tail.s)
    if missing_word:
        text = _Src(before.s + BLANK + after.s, [], 0).text()
    else:
        text = before.text()
    common["text"] = RichText(text, fmt)

    inner = block.strip()
    if not inner.s:
        question: Question = Essay(**common)
    elif inner.s[0] == "#":
        question = Numerical(**common, answers=_numeric_answers(inner[1:], fmt, block.line(0)))
    elif inner.s[0] not in "=~":
        question = _true_false(inner, fmt, common)
    elif "->" in inner.s:
        question = Matching(**common, pairs=_pairs(inner, fmt, body.line(opening)))
    else:
        question = _choices(inner, fmt, common, body.line(opening))
    if missing_word and not isinstance(question, (SingleChoice, MultipleResponse, ShortAnswer)):
        raise GiftError(tail.line(0), f"text after the answer block ({_quote(tail.text())}): only multiple-choice "
                                      "and short-answer questions continue after } (missing word); move the text "
                                      "before the {")
    return question


def _quote(text: str, limit: int = 40) -> str:
    text = text.replace("\n", " ")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _split_answers(block: _Src) -> tuple[_Src, list[tuple[str, int, _Src]]]:
    """The text before the first answer, and each answer as (its marker = or ~, the marker's line, the
    text after the marker). Every = and ~ starts an answer, as in Moodle: literal ones are escaped."""
    marks = [i for i, ch in enumerate(block.s) if ch in "=~"]
    lead = block[: marks[0]] if marks else block
    answers = []
    for k, start in enumerate(marks):
        end = marks[k + 1] if k + 1 < len(marks) else len(block.s)
        answers.append((block.s[start], block.line(start), block[start + 1:end]))
    return lead, answers


def _weight(src: _Src, default: float) -> tuple[float, _Src]:
    """A leading ``%n%`` weight as a fraction (n/100), and the text after it."""
    src = src.lstrip()
    if not src.s.startswith("%"):
        return default, src
    end = src.s.find("%", 1)
    if end < 0:
        raise GiftError(src.line(0), "the weight is not closed: write it as %50% before the answer")
    raw = src.s[1:end].strip(_WS)
    if not _NUMBER.fullmatch(raw):
        raise GiftError(src.line(0), f"the weight %{raw.translate(_RESTORE)}% is not a number: write a "
                                     "percentage such as %50%, %-25% or %33.33333%")
    percent = Decimal(raw)
    if not -100 <= percent <= 100:
        raise GiftError(src.line(0), f"the weight %{raw}% is out of range: use a percentage from -100 to 100")
    # Divided in decimal: %33.33333% is exactly the fraction 0.3333333 (see _weight_text).
    return float(percent / 100), src[end + 1:]


def _split_feedback(src: _Src) -> tuple[_Src, _Src | None]:
    cut = src.s.find("#")
    if cut < 0:
        return src, None
    return src[:cut], src[cut + 1:]


def _choices(block: _Src, fmt: str, common: dict, block_line: int) -> Question:
    """Multiple choice or (only = answers) short answer."""
    _, answers = _split_answers(block)
    parsed = []
    for marker, line, src in answers:
        fraction, rest = _weight(src, 1.0 if marker == "=" else 0.0)
        text_src, feedback_src = _split_feedback(rest)
        text = _rich(text_src, fmt)
        if not text.text:
            raise GiftError(line, f"an answer is empty: write its text after the {marker}, or remove the {marker}")
        parsed.append((marker, fraction, text, _optional_rich(feedback_src, fmt)))
    if all(marker == "=" for marker, *_ in parsed):
        return ShortAnswer(**common, answers=tuple(TextAnswer(text.text, fraction, feedback)
                                                   for _, fraction, text, feedback in parsed))
    choices = tuple(Choice(text, fraction, feedback) for _, fraction, text, feedback in parsed)
    if any(marker == "=" for marker, *_ in parsed):
        return SingleChoice(**common, choices=choices)
    if not any(c.fraction > 0 for c in choices):
        raise GiftError(block_line, "no answer is right: mark the right answer with = (or give right answers "
                                    "a positive weight, e.g. ~%50%)")
    return MultipleResponse(**common, choices=choices)


def _pairs(block: _Src, fmt: str, block_line: int) -> tuple[Pair, ...]:
    _, answers = _split_answers(block)
    pairs = []
    for marker, line, body in answers:
        arrow = body.s.find("->")
        if marker != "=" or arrow < 0:
            raise GiftError(line, f"'->' makes this a matching question, but {_quote(marker + body.text())} is "
                                  "not a pair: write every answer as =prompt -> answer (a literal arrow elsewhere "
                                  "needs other characters, e.g. →)")
        if body.lstrip().s.startswith("%"):
            raise GiftError(line, "matching pairs take no weight: remove the %...%")
        if "#" in body.s:
            raise GiftError(body.line(body.s.find("#")), r"matching pairs take no feedback: put it in the general "
                                                         r"feedback (####...), or write \# for a literal #")
        prompt = _rich(body[:arrow], fmt)
        answer = body[arrow + 2:]
        _, answer = _take_format(answer, fmt)  # a prefix on the answer is read and dropped, as Moodle does
        if not answer.text():
            raise GiftError(line, "a matching pair needs an answer after ->")
        pairs.append(Pair(prompt, answer.text()))
    if len(pairs) < 3 or sum(1 for p in pairs if p.prompt.text) < 2:
        raise GiftError(block_line, "a matching question needs at least three pairs (=prompt -> answer), at least "
                                    "two of them with a prompt: add a pair, or a distractor answer (= -> answer)")
    return tuple(pairs)


def _true_false(block: _Src, fmt: str, common: dict) -> TrueFalse:
    cuts = [i for i, ch in enumerate(block.s) if ch == "#"]
    head = (block[: cuts[0]] if cuts else block).text()
    if head not in _TRUE + _FALSE or len(cuts) > 2:
        found = _quote(block.text())
        hint = ""
        if head.upper() in _TRUE + _FALSE and head not in _TRUE + _FALSE:
            hint = f" (true/false is written in capitals: {head.upper()})"
        elif head in _TRUE + _FALSE:
            hint = " (a true/false block takes at most two feedbacks)"
        raise GiftError(block.line(0), f"cannot read the answer block {found}{hint}: write {{T}}, {{TRUE}}, {{F}} "
                                       "or {FALSE}, optionally with #feedback if wrong#feedback if right, or "
                                       "start each answer with = or ~")
    bounds = [*cuts, len(block.s)]
    feedbacks = [_optional_rich(block[bounds[k] + 1:bounds[k + 1]], fmt) for k in range(len(cuts))]
    wrong, right = (feedbacks + [None, None])[:2]
    answer = head in _TRUE
    # The first feedback is for a wrong response: for a TRUE question, the learner who said false.
    return TrueFalse(**common, answer=answer,
                     feedback_true=right if answer else wrong, feedback_false=wrong if answer else right)


def _numeric_answers(block: _Src, fmt: str, line: int) -> tuple[NumericAnswer, ...]:
    lead, answers = _split_answers(block)
    if lead.strip().s:  # {#3:2} or {#3:2 ~#...}: the first answer needs no =
        answers.insert(0, ("=", lead.strip().line(0), lead))
    if not answers:
        raise GiftError(line, "the numerical block has no answer: write e.g. {#3}, {#3:0.5} or {#1..5}")
    result = []
    for marker, answer_line, src in answers:
        fraction, rest = _weight(src, 1.0 if marker == "=" else 0.0)
        value_src, feedback_src = _split_feedback(rest)
        feedback = _optional_rich(feedback_src, fmt)
        result.append(_numeric_value(value_src, answer_line, fraction, feedback))
    return tuple(result)


def _numeric_value(src: _Src, line: int, fraction: float, feedback: RichText | None) -> NumericAnswer:
    raw = src.strip().s

    def number(part: str) -> float:
        part = part.strip(_WS)
        if not _NUMBER.fullmatch(part):
            raise GiftError(line, f"the numerical answer {_quote(raw.translate(_RESTORE))} is not a number: "
                                  "write a value (3), a value and tolerance (3:0.5), a range (1..5), or * for "
                                  "any other number")
        return float(part)

    if raw in ("", "*"):
        return NumericAnswer(fraction=fraction, feedback=feedback)
    if ".." in raw:
        low_raw, high_raw = raw.split("..", 1)
        low, high = number(low_raw), number(high_raw)
        if low > high:
            raise GiftError(line, f"the range {raw} starts above its end: write the low end first, "
                                  f"e.g. {high_raw.strip(_WS)}..{low_raw.strip(_WS)}")
        return NumericAnswer(fraction=fraction, low=low, high=high, feedback=feedback)
    value_raw, colon, tolerance_raw = raw.partition(":")
    value = number(value_raw)
    tolerance = number(tolerance_raw) if colon else None
    if tolerance is not None and tolerance < 0:
        raise GiftError(line, f"the tolerance in {raw} is negative: write it without the minus sign")
    return NumericAnswer(fraction=fraction, value=value, tolerance=tolerance, feedback=feedback)


# -- writing ---------------------------------------------------------------------------------------

def export(quiz: Quiz, *, question_ids: Sequence[object | None] | None = None) -> ExportResult:
    """The quiz as GIFT, laid out as Moodle's own export writes it (TAB-indented answers, explicit
    ``=%100%`` weights for short and numerical answers, prefixes only where a format differs from the
    question text's...). Nothing is dropped silently: what GIFT cannot say is listed in
    ``unexpressed``, one line each, naming the question.

    Moodle starts each question with ``// question: <database id>  name: <name>``. Our questions have
    no such id, and a comment with free text in it could even add tags on re-import, so a normal
    export writes no header line. Pass ``question_ids`` (one per question, None for none) to get
    Moodle's header, e.g. to reproduce Moodle's output exactly.
    """
    if question_ids is not None and len(question_ids) != len(quiz.questions):
        raise ValueError("question_ids needs one entry per question")
    notes: list[str] = []
    if quiz.title:
        notes.append(f"quiz: the title {quiz.title!r} is not written (GIFT has no quiz title; give it to the "
                     "importer, e.g. as the file name)")
    if quiz.description is not None:
        notes.append("quiz: the introduction is not written (GIFT has no quiz description)")
    if quiz.settings:
        notes.append(f"quiz: settings ({', '.join(sorted(quiz.settings))}) are not part of GIFT")
    parts: list[str] = []
    category: str | None = None
    for n, question in enumerate(quiz.questions):
        writer = _Writer(question, f"question {n + 1}" + (f" {question.name!r}" if question.name else ""), notes)
        if not writer.supported():
            continue
        # GIFT's category applies to every question after it, so it is written when it changes.
        switch = ""
        if question.category != category:
            if question.category is None:
                writer.note(f"has no category, but GIFT gives it the category before it ({category!r})")
            else:
                if "\n" in question.category:
                    writer.note("the line break in its category is written as a space")
                switch = f"{CATEGORY} {_one_line(question.category)}\n\n"
        header = ""
        if question_ids is not None and question_ids[n] is not None:
            header = f"// question: {question_ids[n]}  name: {_one_line(question.name or '')}\n"
        meta = writer.meta_comment()
        body = writer.question()
        if not body:
            continue  # noted by the writer; its comments would otherwise attach to the next question
        if switch:
            category = question.category
        parts.append(switch + header + meta + body + "\n\n")
    return ExportResult("".join(parts), notes)


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def _escape(text: str) -> str:
    """GIFT's escapes: a backslash is doubled (MDL-34171), the symbols get a backslash, and line breaks
    become \\n, since a blank line would end the question and a line could start with //."""
    text = text.replace("\\", "\\\\")
    for ch in "~=#{}:":
        text = text.replace(ch, "\\" + ch)
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def _weight_text(fraction: float) -> str:
    """100*fraction as Moodle prints it (50, -33.33333, not 50.0). Computed in decimal from the
    shortest form of the fraction, so that the importer's decimal division gives the same float back
    (binary fraction*100 and /100 would not: 1/3 would come back as 0.33333333333333326)."""
    if fraction == 0:
        return "0"
    return format((Decimal(repr(float(fraction))) * 100).normalize(), "f")


def _number_text(value: float) -> str:
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Writer:
    """Writes one question and notes, under its label, what GIFT cannot say about it."""

    def __init__(self, question: Question, label: str, notes: list[str]):
        self.q = question
        self.label = label
        self.notes = notes
        self.fmt = question.text.format

    def note(self, message: str) -> None:
        self.notes.append(f"{self.label}: {message}")

    def supported(self) -> bool:
        q = self.q
        if q.type == "ordering":
            self.note("ordering questions cannot be written in GIFT; left out")
            return False
        if q.type == "cloze":
            self.note("fill-in-the-blanks questions (several gaps) cannot be written in GIFT; left out")
            return False
        if not isinstance(q, (SingleChoice, MultipleResponse, TrueFalse, ShortAnswer, Numerical, Matching, Essay,
                              Description)):
            self.note(f"{q.type} questions cannot be written in GIFT; left out")
            return False
        if q.points != 1:
            self.note(f"points {q.points:g} (GIFT has no points: 1 on import)")
        if q.key:
            self.note(f"key {q.key!r}")
        if q.lesson:
            self.note(f"lesson {q.lesson!r}")
        return True

    def meta_comment(self) -> str:
        """Moodle's ``// [id:x] [tag:a] [tag:b]`` line; ] and \\ inside are escaped with a backslash."""
        q = self.q
        items = []
        if q.idnumber:
            items.append(f"[id:{self._meta_value(q.idnumber)}]")
        items.extend(f"[tag:{self._meta_value(tag)}]" for tag in q.tags)
        return f"// {' '.join(items)}\n" if items else ""

    def _meta_value(self, value: str) -> str:
        if "\n" in value or value != value.strip(_WS):
            self.note(f"tag or idnumber {value!r}: spaces at the ends and line breaks are not kept")
        return _one_line(value).strip(_WS).replace("\\", "\\\\").replace("]", "\\]")

    # -- texts --

    def _check_ends(self, text: str, what: str) -> None:
        # A written \n survives import, but spaces and tabs at either end are trimmed away.
        if text != text.strip(" \t\x0b\x0c") or "\r" in text:
            self.note(f"{what}: spaces at its ends (or carriage returns) are not kept")

    def _rich(self, rich: RichText | None, what: str, *, percent_start: bool = False) -> str:
        """A text with its ``[format]`` prefix where its format differs from the question text's. The
        prefix is also written when the text itself starts like a prefix (``[b]``) or, for an answer, like
        a weight (``%``), so that those characters are read back as text."""
        if rich is None or not rich.text:
            return ""
        self._check_ends(rich.text, what)
        body = _escape(rich.text)
        protect = bool(_FORMAT_PREFIX.match(body)) or (percent_start and body.startswith("%"))
        if rich.format != self.fmt or protect:
            return f"[{rich.format}]{body}"
        return body

    def _plain(self, text: str, what: str) -> str:
        """A plain string (short answer, matching answer): the importer drops a format prefix on it, so a
        text that starts like one gets a [moodle] prefix to keep it."""
        self._check_ends(text, what)
        body = _escape(text)
        return f"[{DEFAULT_FORMAT}]{body}" if _FORMAT_PREFIX.match(body) else body

    def _arrow_check(self, rich: RichText | str | None, what: str) -> None:
        text = rich.text if isinstance(rich, RichText) else rich
        if text and "->" in text:
            self.note(f"{what} contains '->', which GIFT reads as a matching pair; it will not import as written")

    def _question_text(self) -> str:
        q = self.q
        self._check_ends(q.text.text, "the question text")
        body = _escape(q.text.text)
        if self.fmt != DEFAULT_FORMAT or _FORMAT_PREFIX.match(body) or (not q.name and body.startswith("//")):
            body = f"[{self.fmt}]{body}"
        return body

    # -- questions --

    def question(self) -> str:
        q = self.q
        head = f"::{self._name()}::" if q.name else ""
        text = self._question_text()
        if isinstance(q, Description):
            if q.general_feedback and q.general_feedback.text:
                self.note("general feedback on a description (GIFT has no answer block to hold it)")
            if not q.text.text:
                self.note("a description without text is not written")
                return ""
            return head + text
        block = self._block()
        blank = text.find(BLANK)
        if isinstance(q, (SingleChoice, MultipleResponse, ShortAnswer)) and blank >= 0 \
                and text[blank + len(BLANK):].strip(_WS):
            # Missing word: the block goes back where the importer left _____ (text must follow it).
            return head + text[:blank] + block + text[blank + len(BLANK):]
        return head + text + block

    def _name(self) -> str:
        name = self.q.name or ""
        self._check_ends(name, "the name")
        return _escape(name)

    def _general_feedback(self, indent: str) -> str:
        gf = self._rich(self.q.general_feedback, "the general feedback")
        if not gf:
            return ""
        return f"{indent}####{gf}\n" if indent else f"####{gf}"

    def _lines_block(self, lines: list[str], opener: str = "{") -> str:
        body = "".join(f"\t{line}\n" for line in lines)
        return opener + "\n" + body + self._general_feedback("\t") + "}"

    def _block(self) -> str:
        q = self.q
        if isinstance(q, Essay):
            if q.grader_info and q.grader_info.text:
                self.note("information for graders (GIFT cannot hold it)")
            return "{" + self._general_feedback("") + "}"
        if isinstance(q, TrueFalse):
            return self._true_false(q)
        if isinstance(q, (SingleChoice, MultipleResponse)):
            return self._lines_block(self._choice_lines(q))
        if isinstance(q, ShortAnswer):
            return self._lines_block(self._short_lines(q))
        if isinstance(q, Numerical):
            return self._lines_block(self._numeric_lines(q), "{#")
        return self._lines_block(self._pair_lines(q))

    def _true_false(self, q: TrueFalse) -> str:
        right, wrong = (q.feedback_true, q.feedback_false) if q.answer else (q.feedback_false, q.feedback_true)
        out = "{TRUE" if q.answer else "{FALSE"
        if (right and right.text) or (wrong and wrong.text):
            # Moodle's order: the feedback for a wrong response first, then the one for a right response.
            out += f"#{self._rich(wrong, 'a feedback')}#{self._rich(right, 'a feedback')}"
        return out + self._general_feedback("") + "}"

    def _weight(self, fraction: float, what: str) -> str:
        if not -1 <= fraction <= 1:  # also false for NaN
            self.note(f"{what}: the fraction {fraction} is outside -1..1, which GIFT cannot import")
        return _weight_text(fraction)

    def _number(self, value: float, what: str) -> str:
        if not math.isfinite(value):
            self.note(f"{what}: {value} is not a finite number, which GIFT cannot import")
        return _number_text(value)

    def _feedback(self, rich: RichText | None) -> str:
        self._arrow_check(rich, "a feedback")
        return self._rich(rich, "a feedback")

    def _choice_lines(self, q: SingleChoice | MultipleResponse) -> list[str]:
        single = isinstance(q, SingleChoice)
        if not q.choices:
            self.note("a choice question without options is written as an essay")
        # A block is "single" when it has a = answer, and a short answer when it has only = answers:
        # so a single choice needs one = (its best option) and at least one ~.
        equals = {k for k, c in enumerate(q.choices) if single and c.fraction == 1}
        if single and q.choices and not equals:
            best = max(range(len(q.choices)), key=lambda k: q.choices[k].fraction)
            equals = {best}
        if not single and q.choices and not any(c.fraction > 0 for c in q.choices):
            self.note("a multiple response without a right option cannot be imported from GIFT")
        if single and equals and len(equals) == len(q.choices):
            if len(q.choices) == 1:
                self.note("a single choice with one option reads back as a short answer")
            else:
                equals = {min(equals)}
        lines = []
        for k, choice in enumerate(q.choices):
            what = f"option {k + 1}"
            self._arrow_check(choice.text, what)
            text = self._rich(choice.text, what, percent_start=True)
            if not text:
                self.note(f"{what} has no text, which GIFT cannot import")
            if k in equals:
                weight = "" if choice.fraction == 1 else f"%{self._weight(choice.fraction, what)}%"
                line = f"={weight}{text}"
            else:
                weight = "" if choice.fraction == 0 else f"%{self._weight(choice.fraction, what)}%"
                line = f"~{weight}{text}"
            feedback = self._feedback(choice.feedback)
            lines.append(line + (f"#{feedback}" if feedback else ""))
        return lines

    def _short_lines(self, q: ShortAnswer) -> list[str]:
        if not q.answers:
            self.note("a short answer without answers is written as an essay")
        if q.case_sensitive:
            self.note("case-sensitive matching (GIFT short answers are case-insensitive on import)")
        lines = []
        for k, answer in enumerate(q.answers):
            what = f"answer {k + 1}"
            if answer.regex:
                self.note(f"{what} is a regular expression; GIFT writes it as a literal answer")
            self._arrow_check(answer.text, what)
            if not answer.text:
                self.note(f"{what} is empty, which GIFT cannot import")
            lines.append(f"=%{self._weight(answer.fraction, what)}%{self._plain(answer.text, what)}"
                         f"#{self._feedback(answer.feedback)}")
        return lines

    def _numeric_lines(self, q: Numerical) -> list[str]:
        if not q.answers:
            self.note("a numerical question without answers cannot be imported from GIFT")
        lines = []
        for k, answer in enumerate(q.answers):
            what = f"answer {k + 1}"
            feedback = self._feedback(answer.feedback)
            weight = self._weight(answer.fraction, what)
            if answer.is_catch_all:
                if answer.tolerance is not None or answer.high is not None:
                    self.note(f"{what}: a tolerance or upper end without a value is not written")
                lines.append(f"~#{feedback}" if answer.fraction == 0 else f"=%{weight}%*#{feedback}")
                continue
            if answer.low is not None:
                if answer.value is not None or answer.tolerance is not None or answer.high is None:
                    self.note(f"{what}: only its range {answer.low:g}..{answer.high} is written")
                high = answer.high if answer.high is not None else answer.low
                if high < answer.low:
                    self.note(f"{what}: the range ends below its start, which GIFT cannot import")
                value = f"{self._number(answer.low, what)}..{self._number(high, what)}"
            else:
                value = self._number(answer.value, what)
                if answer.tolerance is not None:
                    if answer.tolerance < 0:
                        self.note(f"{what}: a negative tolerance cannot be imported from GIFT")
                    value += f":{self._number(answer.tolerance, what)}"
            lines.append(f"=%{weight}%{value}#{feedback}")
        return lines

    def _pair_lines(self, q: Matching) -> list[str]:
        if len(q.pairs) < 3 or sum(1 for p in q.pairs if p.prompt.text) < 2:
            self.note("a matching question needs at least three pairs, two with a prompt, to import from GIFT")
        lines = []
        for k, pair in enumerate(q.pairs):
            what = f"pair {k + 1}"
            self._arrow_check(pair.prompt, f"{what}'s prompt")
            if not pair.answer:
                self.note(f"{what} has no answer, which GIFT cannot import")
            prompt = self._rich(pair.prompt, f"{what}'s prompt", percent_start=True)
            lines.append(f"={prompt} -> {self._plain(pair.answer, f'{what} answer')}")
        return lines
