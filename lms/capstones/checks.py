"""Automated checks on a submitted capstone, registered by the name used in capstone.md's `checks:`.

Pure Python. Each check reports what it found, for the grader to weigh: a check never grades and
never stops a submission. The values come from a validated Capstone (lms/content/capstone.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import regex

from lms.content.capstone import CHECK_KEYS

# Per link and pattern. Patterns are the author's, links the learner's: a pattern that backtracks
# catastrophically on some link must cost a submit milliseconds, not minutes.
PATTERN_TIMEOUT_SECONDS = 0.05

_FENCE = regex.compile(r"^\s*(`{3,}|~{3,})")  # any indentation: fences inside list items too
_LIST_ITEM = regex.compile(r"^ {0,3}(?:[-*+]|\d+[.)])\s")
_ATX_HEADING = regex.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = regex.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_A_PARAGRAPH = regex.compile(r"^ {0,3}(?:[-*+>|#]|\d+[.)](?:\s|$))")
_ATTRIBUTE_LIST = regex.compile(r"\s*\{:?[^{}]*\}\s*$")  # "## Summary {#summary}" (attr_list)
_SECTION_NUMBER = regex.compile(r"^(?:\d+(?:\.\d+)*[.)]?)\s+")  # "2. Data" and "2.1 Data" name "Data"
_INLINE_MARKS = regex.compile(r"[*_`~]+")
_IMAGE = regex.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = regex.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK_OR_TAG = regex.compile(r"<[^<>\n]*>")
_ATTRIBUTES = regex.compile(r"\{[:#.][^{}\n]*\}")
_LIST_MARKER = regex.compile(r"^\s*(?:>\s*)*(?:[-*+]|\d+[.)])\s+", regex.MULTILINE)
# Scripts written without spaces between words: each character counts as a word.
_UNSPACED_CHARACTER = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}]")
_WORD = regex.compile(r"[\p{L}\p{N}]")


@dataclass(frozen=True)
class SubmissionContent:
    """What the checks look at: the text answer (Markdown), the links, the files as (name, extension)."""

    text: str
    links: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class CheckResult:
    type: str
    label: str
    passed: bool
    found: str  # what the check found, for the grader: "412 words (needs 300)"


class Check:
    """A check type: ``run(value, submission)`` with the value written under its key in `checks:`."""

    type: ClassVar[str]
    label: ClassVar[str]

    @classmethod
    def run(cls, value: Any, submission: SubmissionContent) -> CheckResult:
        raise NotImplementedError

    @classmethod
    def result(cls, passed: bool, found: str) -> CheckResult:
        return CheckResult(cls.type, cls.label, passed, found)


def _prose_lines(text: str) -> list[str | None]:
    """The text's lines, with those inside fenced or indented code blocks replaced by None.

    A line indented by four spaces after a blank line is code, except inside a list, where
    Python-Markdown (the platform's renderer) reads it as the item's next paragraph.
    """
    lines: list[str | None] = []
    fence: str | None = None
    in_code = in_list = False
    previous_blank = True
    for line in text.splitlines():
        if fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
            lines.append(None)
            continue
        blank, indented = not line.strip(), line.startswith(("    ", "\t"))
        if in_code:
            if blank or indented:
                lines.append(None)
                continue
            in_code = False
        opening = _FENCE.match(line)
        if opening:
            fence = opening.group(1)
            lines.append(None)
            continue
        if indented and not blank and previous_blank and not in_list:
            in_code = True
            lines.append(None)
            continue
        if not blank and not indented:
            if _LIST_ITEM.match(line):
                in_list = True
            elif previous_blank:
                in_list = False
        lines.append(line)
        previous_blank = blank
    return lines


def normalise_heading(text: str) -> str:
    """A heading as compared: Unicode-normalised, without inline marks, an {#id}, a leading section
    number or a trailing colon, spaces collapsed, case folded."""
    text = unicodedata.normalize("NFKC", text)
    text = _ATTRIBUTE_LIST.sub("", text)
    text = _INLINE_MARKS.sub("", text)
    text = " ".join(text.split())
    text = _SECTION_NUMBER.sub("", text).rstrip(":").strip()
    return text.casefold()


def markdown_headings(text: str) -> list[str]:
    """The text of every heading (ATX `## Title` and setext `Title` over `===`/`---`), outside code blocks."""
    headings: list[str] = []
    lines = _prose_lines(text)
    for index, line in enumerate(lines):
        if line is None:
            continue
        atx = _ATX_HEADING.match(line)
        if atx:
            headings.append((atx.group(2) or "").strip())
            continue
        if index > 0 and _SETEXT_UNDERLINE.match(line):
            above = lines[index - 1]
            if above and above.strip() and not _NOT_A_PARAGRAPH.match(above) and not _SETEXT_UNDERLINE.match(above):
                headings.append(above.strip())
    return headings


def count_words(text: str) -> int:
    """Words of prose in Markdown: code blocks, link targets, HTML tags, list markers and tokens
    of punctuation alone (`#`, `---`, `|`) do not count; link and image texts do."""
    prose = "\n".join(line for line in _prose_lines(text) if line is not None)
    prose = _IMAGE.sub(r" \1 ", prose)
    prose = _LINK.sub(r" \1 ", prose)
    prose = _AUTOLINK_OR_TAG.sub(" ", prose)
    prose = _ATTRIBUTES.sub(" ", prose)
    prose = _LIST_MARKER.sub(" ", prose)
    count = 0
    for token in prose.split():
        unspaced = len(_UNSPACED_CHARACTER.findall(token))
        if unspaced:
            rest = _UNSPACED_CHARACTER.sub(" ", token)
            count += unspaced + sum(1 for part in rest.split() if _WORD.search(part))
        elif _WORD.search(token):
            count += 1
    return count


def _extension(value: str) -> str:
    return value.strip().lower().lstrip(".")


class Headings(Check):
    type = "headings"
    label = "Required headings"

    @classmethod
    def run(cls, value: Sequence[str], submission: SubmissionContent) -> CheckResult:
        present = {normalise_heading(h) for h in markdown_headings(submission.text)}
        missing = [heading for heading in value if normalise_heading(heading) not in present]
        found = f"found {len(value) - len(missing)} of {len(value)} headings"
        if missing:
            found += "; missing: " + ", ".join(missing)
        return cls.result(not missing, found)


class MinWords(Check):
    type = "min_words"
    label = "Length of the text"

    @classmethod
    def run(cls, value: int, submission: SubmissionContent) -> CheckResult:
        words = count_words(submission.text)
        return cls.result(words >= value, f"{words} word{'' if words == 1 else 's'} (needs {value})")


class FileTypes(Check):
    type = "file_types"
    label = "Required file types"

    @classmethod
    def run(cls, value: Sequence[str], submission: SubmissionContent) -> CheckResult:
        by_type: dict[str, list[str]] = {}
        for name, extension in submission.files:
            by_type.setdefault(_extension(extension), []).append(name)
        missing = [kind for kind in value if kind not in by_type]
        present = [f"{kind} ({', '.join(by_type[kind])})" for kind in value if kind in by_type]
        if not submission.files:
            return cls.result(False, "no files attached; needs " + ", ".join(value))
        found = f"found {len(value) - len(missing)} of {len(value)} file types"
        if present:
            found += ": " + "; ".join(present)
        if missing:
            found += "; missing: " + ", ".join(missing)
        return cls.result(not missing, found)


class LinkPatterns(Check):
    type = "link_patterns"
    label = "Link addresses"

    @classmethod
    def run(cls, value: Sequence[str], submission: SubmissionContent) -> CheckResult:
        if not submission.links:
            return cls.result(False, "no links given")
        unmatched: list[str] = []
        timed_out: list[str] = []
        for pattern in value:
            outcome = _matches_any(pattern, submission.links)
            if outcome == "timeout":
                timed_out.append(pattern)
            elif not outcome:
                unmatched.append(pattern)
        matched = len(value) - len(unmatched) - len(timed_out)
        found = f"{matched} of {len(value)} patterns matched by a link"
        if unmatched:
            found += "; no link matches " + ", ".join(f"`{p}`" for p in unmatched)
        if timed_out:
            found += ("; took too long to test (over " f"{PATTERN_TIMEOUT_SECONDS:g} s), counted as not found: "
                      + ", ".join(f"`{p}`" for p in timed_out))
        return cls.result(matched == len(value), found)


def _matches_any(pattern: str, links: Iterable[str]) -> bool | str:
    """True when a link matches (``search``: anchor the pattern with ^ to match from the start),
    "timeout" when testing some link ran out of time and no other matched."""
    try:
        compiled = regex.compile(pattern)
    except regex.error:
        return False  # validated when the course was checked; a stored bad pattern matches nothing
    timed_out = False
    for link in links:
        try:
            if compiled.search(link, timeout=PATTERN_TIMEOUT_SECONDS):
                return True
        except TimeoutError:
            timed_out = True
    return "timeout" if timed_out else False


CHECK_TYPES: dict[str, type[Check]] = {
    "headings": Headings,
    "min_words": MinWords,
    "file_types": FileTypes,
    "link_patterns": LinkPatterns,
}


def run_checks(checks: dict[str, Any], text: str, links: Sequence[str],
               files: Sequence[tuple[str, str]]) -> list[CheckResult]:
    """Run a capstone's checks on a submission, in the order of CHECK_KEYS.

    ``files`` are (name, extension) pairs; the extension may be written with or without its dot.
    """
    unknown = [key for key in checks if key not in CHECK_TYPES]
    if unknown:
        raise ValueError(f"unknown check type(s): {', '.join(unknown)}")
    submission = SubmissionContent(text or "", tuple(links), tuple((name, ext) for name, ext in files))
    return [CHECK_TYPES[key].run(checks[key], submission) for key in CHECK_KEYS if key in checks]
