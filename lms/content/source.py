"""Reading course files: UTF-8 text, YAML with line numbers, Markdown front matter.

Every failure becomes a Problem with the file and line where it starts, worded as what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

ERROR = "error"
WARNING = "warning"
NOTICE = "notice"


@dataclass(frozen=True)
class Problem:
    path: str  # relative to the courses root (or the checked folder), as the author sees it
    line: int  # 1-based; 0 when the problem concerns the whole file or folder
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


class SourceError(Exception):
    """Raised inside the loader for a problem that stops reading one file."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class YamlMapping:
    values: dict
    key_lines: dict[str, int]  # key -> 1-based line in the file
    first_line: int  # line of the mapping's start, for "missing key" messages


def read_text(path: Path, display: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(Problem(display, 0, f"cannot read the file ({exc.strerror})")) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceError(Problem(
            display, line, "the file is not UTF-8 text; save it with UTF-8 encoding"
        )) from None
    return text.removeprefix("\ufeff")


def parse_yaml_mapping(text: str, display: str, line_offset: int = 0) -> YamlMapping:
    """Parse a YAML document that must be a mapping, keeping the line of every top-level key."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlMapping({}, {}, line_offset + 1)
        if not isinstance(node, yaml.MappingNode):
            raise SourceError(Problem(
                display, node.start_mark.line + 1 + line_offset,
                "expected `key: value` lines (a YAML mapping) here",
            ))
        values = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 1 + line_offset) if mark else line_offset + 1
        detail = exc.problem or "invalid YAML"
        raise SourceError(Problem(
            display, line, f"invalid YAML: {detail}; check indentation and quote values containing ': ' or '#'",
        )) from None
    except yaml.YAMLError as exc:
        raise SourceError(Problem(display, line_offset + 1, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    key_lines = {}
    for key_node, _ in node.value:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 1 + line_offset
    return YamlMapping({str(k): v for k, v in values.items()}, key_lines, node.start_mark.line + 1 + line_offset)


@dataclass(frozen=True)
class FrontMatterDocument:
    meta: YamlMapping
    body: str
    body_first_line: int


def split_front_matter(text: str, display: str) -> FrontMatterDocument:
    """Split ``---``-delimited YAML front matter from a Markdown body."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise SourceError(Problem(
            display, 1,
            "missing front matter: start the file with a line `---`, then `title: ...`, then `---`",
        ))
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            meta = parse_yaml_mapping("".join(lines[1:index]), display, line_offset=1)
            return FrontMatterDocument(meta, "".join(lines[index + 1:]), index + 2)
    raise SourceError(Problem(display, 1, "front matter is not closed: add a line `---` after the last setting"))
