"""Reading course files: UTF-8 text, YAML with line numbers, Markdown front matter.

Every failure becomes a Problem with the file and line where it starts, worded as what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


# A node's place in a YAML document: mapping keys (as text) and list indexes, from the top,
# e.g. ("rubric", 1, "levels", 2, "points").
YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class DuplicateKey:
    path: YamlPath  # the repeated key's path; the value read is the last one
    line: int  # where it is repeated
    first_line: int  # where it first appears


@dataclass(frozen=True)
class YamlMapping:
    values: dict
    key_lines: dict[str, int]  # key -> 1-based line in the file
    first_line: int  # line of the mapping's start, for "missing key" messages
    # Every nested node's line, keyed by its path relative to this mapping: a mapping entry's is
    # the line of its key, a list item's the line where the item starts.
    node_lines: dict[YamlPath, int] = field(default_factory=dict, compare=False)
    duplicate_keys: tuple[DuplicateKey, ...] = ()  # YAML keeps the last silently; callers may object

    def line(self, *path: str | int) -> int:
        """The line of the node at ``path``, or of its nearest ancestor that is written in the file.

        An ancestor stands in for a key that is missing (report "add `points:`" where the level
        starts) or that came from an alias (``*name``), whose content is written elsewhere.
        """
        while path:
            if path in self.node_lines:
                return self.node_lines[path]
            path = path[:-1]
        return self.first_line

    def sub(self, *path: str | int) -> YamlMapping:
        """The mapping at ``path`` as a YamlMapping of its own, with lines of the same file.

        Keys are read as text, as at the top level. Raises TypeError when the value there is not a mapping.
        """
        value: Any = self.values
        for step in path:
            value = value[step]
        if not isinstance(value, dict):
            raise TypeError(f"the value at {path!r} is not a mapping")
        size = len(path)
        node_lines = {p[size:]: line for p, line in self.node_lines.items() if len(p) > size and p[:size] == path}
        key_lines = {p[0]: line for p, line in node_lines.items() if len(p) == 1 and isinstance(p[0], str)}
        duplicates = tuple(DuplicateKey(d.path[size:], d.line, d.first_line) for d in self.duplicate_keys
                           if len(d.path) > size and d.path[:size] == path)
        return YamlMapping({str(k): v for k, v in value.items()}, key_lines, self.line(*path), node_lines, duplicates)


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
    """Parse a YAML document that must be a mapping, keeping the line of every key, nested ones too."""
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
        # Before construction: constructing flattens `<<: *merge` keys into the node in place,
        # which would make an overridden merged key look like a duplicate.
        node_lines, duplicates = _node_lines(node, line_offset)
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
    except RecursionError:
        raise SourceError(Problem(display, line_offset + 1, "the YAML is nested too deeply; flatten it")) from None
    finally:
        loader.dispose()
    key_lines = {}
    for key_node, _ in node.value:
        key_lines[str(key_node.value)] = key_node.start_mark.line + 1 + line_offset
    return YamlMapping({str(k): v for k, v in values.items()}, key_lines, node.start_mark.line + 1 + line_offset,
                       node_lines, duplicates)


def _node_lines(root: yaml.Node, line_offset: int) -> tuple[dict[YamlPath, int], tuple[DuplicateKey, ...]]:
    """Walk the composed node tree once, recording the line of every mapping key and list item.

    Iterative, and each node is entered once: an alias (``*name``) is the very node of its anchor,
    so aliases of aliases would otherwise multiply the walk (the "billion laughs" document), and a
    recursive anchor would never end. An alias's content keeps the lines of where the anchor is written.
    """
    lines: dict[YamlPath, int] = {}
    duplicates: list[DuplicateKey] = []
    entered: set[int] = set()
    stack: list[tuple[yaml.Node, YamlPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in entered:
            continue
        entered.add(id(node))
        children: list[tuple[yaml.Node, YamlPath]] = []
        if isinstance(node, yaml.MappingNode):
            first_seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue  # a complex key (`? [a, b]`) has no name to report it by
                key, line = str(key_node.value), key_node.start_mark.line + 1 + line_offset
                if key in first_seen:
                    duplicates.append(DuplicateKey(path + (key,), line, first_seen[key]))
                else:
                    first_seen[key] = line
                lines[path + (key,)] = line  # the last one wins, as in the constructed values
                children.append((value_node, path + (key,)))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[path + (index,)] = item.start_mark.line + 1 + line_offset
                children.append((item, path + (index,)))
        # Reversed, so nodes are entered in document order and an alias is the later occurrence.
        stack.extend(reversed(children))
    return lines, tuple(duplicates)


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
