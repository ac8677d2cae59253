"""A course's capstone: what learners hand in, the rubric it is graded with, the pass rule, automated checks.

Pure Python. ``parse_capstone`` reads the front matter of capstone.md and reports every mistake as a
Problem on the line where it is written, nested keys included; the body (the brief) is the loader's
business. ``Capstone.to_json`` is the canonical form the platform stores for each version of a rubric,
so it holds no source positions and the same definition always gives the same JSON.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import regex

from lms.content.fields import (
    CAPSTONE_FIELDS,
    CHECK_FIELDS,
    CRITERION_FIELDS,
    DELIVERABLES_FIELDS,
    FILES_FIELDS,
    LEVEL_FIELDS,
    LINKS_FIELDS,
    PASS_FIELDS,
    REVIEW_FIELDS,
    Field,
    validate_mapping,
)
from lms.content.source import ERROR, WARNING, Problem, YamlMapping
from lms.questions.scoring import regex_problem
from lms.uploads.types import FILE_TYPES

MB = 1024 * 1024
MAX_CRITERIA = 20
MIN_LEVELS, MAX_LEVELS = 2, 6
MAX_TOTAL_MB = 100
TEXT_CHOICES = ("required", "optional", "none")
# The automated checks, in the order they are stored and shown (lms/capstones/checks.py runs them).
CHECK_KEYS = ("headings", "min_words", "file_types", "link_patterns")
JSON_FORMAT = 1  # bumped when the stored shape changes, so old versions can still be read


def as_number(value: float) -> float:
    """A whole number as an int (``2.0`` -> ``2``), so equal definitions give equal JSON."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def add_points(values: Iterable[float]) -> float:
    """Sum points the way authors write them: decimally, so 0.7 + 0.1 is 0.8 and meets a rule of 0.8."""
    total = sum((Decimal(str(v)) for v in values), Decimal(0))
    return as_number(float(total))


@dataclass(frozen=True)
class Level:
    points: float
    title: str
    description: str = ""


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    description: str
    levels: tuple[Level, ...]  # ascending by points, at least two
    required: bool = False
    min_points: float | None = None  # set when required: the points a pass needs at least

    @property
    def max_points(self) -> float:
        return self.levels[-1].points

    def level_for(self, points: float) -> Level | None:
        """The level worth exactly these points, if there is one."""
        return next((level for level in self.levels if level.points == points), None)


@dataclass(frozen=True)
class LinkRule:
    min: int
    max: int
    label: str = ""


@dataclass(frozen=True)
class FileRule:
    min: int
    max: int
    max_file_bytes: int
    max_total_bytes: int
    types: tuple[str, ...]  # extensions, lower-case, without the dot


@dataclass(frozen=True)
class Deliverables:
    text: str  # "required", "optional" or "none": the Markdown write-up
    links: LinkRule | None = None
    files: FileRule | None = None


@dataclass(frozen=True)
class PassRule:
    min_points: float | None = None  # the total needed; required criteria apply on top of it


@dataclass(frozen=True)
class Capstone:
    title: str
    deliverables: Deliverables
    rubric: tuple[Criterion, ...]
    pass_rule: PassRule
    checks: dict[str, Any]  # CHECK_KEYS -> value: tuples of texts, or an int for min_words
    max_revisions: int = 2
    blind_review: bool = False  # graders see a pseudonym instead of the learner's name

    @property
    def max_points(self) -> float:
        return add_points(c.max_points for c in self.rubric)

    def criterion(self, key: str) -> Criterion | None:
        return next((c for c in self.rubric if c.key == key), None)

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON: plain dicts, lists and numbers, keys in a fixed order, no source positions."""
        links, files = self.deliverables.links, self.deliverables.files
        return {
            "format": JSON_FORMAT,
            "title": self.title,
            "max_revisions": self.max_revisions,
            "deliverables": {
                "text": self.deliverables.text,
                "links": None if links is None else {"min": links.min, "max": links.max, "label": links.label},
                "files": None if files is None else {
                    "min": files.min, "max": files.max, "max_file_bytes": files.max_file_bytes,
                    "max_total_bytes": files.max_total_bytes, "types": list(files.types),
                },
            },
            "rubric": [
                {
                    "key": c.key, "title": c.title, "description": c.description, "required": c.required,
                    "min_points": c.min_points,
                    "levels": [{"points": lv.points, "title": lv.title, "description": lv.description}
                               for lv in c.levels],
                }
                for c in self.rubric
            ],
            "pass": {"min_points": self.pass_rule.min_points},
            "checks": {key: list(v) if isinstance(v, tuple) else v
                       for key, v in sorted(self.checks.items(), key=lambda kv: CHECK_KEYS.index(kv[0]))},
            "review": {"blind": self.blind_review},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Capstone:
        """Read what ``to_json`` wrote (also after a trip through a JSON column)."""
        if data.get("format") != JSON_FORMAT:
            raise ValueError(f"unknown capstone JSON format {data.get('format')!r}; this version reads {JSON_FORMAT}")
        wanted = data["deliverables"]
        links, files = wanted.get("links"), wanted.get("files")
        checks = {}
        for key in CHECK_KEYS:
            if key in data["checks"]:
                value = data["checks"][key]
                checks[key] = tuple(value) if isinstance(value, list) else value
        return cls(
            title=data["title"],
            deliverables=Deliverables(
                text=wanted["text"],
                links=None if links is None else LinkRule(links["min"], links["max"], links["label"]),
                files=None if files is None else FileRule(files["min"], files["max"], files["max_file_bytes"],
                                                          files["max_total_bytes"], tuple(files["types"])),
            ),
            rubric=tuple(
                Criterion(key=c["key"], title=c["title"], description=c["description"],
                          levels=tuple(Level(as_number(lv["points"]), lv["title"], lv["description"])
                                       for lv in c["levels"]),
                          required=c["required"],
                          min_points=None if c["min_points"] is None else as_number(c["min_points"]))
                for c in data["rubric"]
            ),
            pass_rule=PassRule(None if data["pass"]["min_points"] is None else as_number(data["pass"]["min_points"])),
            checks=checks,
            max_revisions=data["max_revisions"],
            # Versions stored before blind review existed have no "review": they were not blind.
            blind_review=bool(data.get("review", {}).get("blind", False)),
        )


def parse_capstone(meta: YamlMapping, display: str) -> tuple[Capstone | None, list[Problem]]:
    """Validate capstone.md's front matter: the Capstone, or None when there is an error, and every
    problem found (warnings too), in the order of their lines."""
    parser = _Parser(display)
    capstone = parser.parse(meta)
    problems = sorted(parser.problems, key=lambda p: p.line)
    if any(p.severity == ERROR for p in problems):
        return None, problems
    return capstone, problems


def key_from_title(title: str) -> str:
    """The criterion key a title gives when none is written: "Data & cleaning" -> "data-cleaning"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].rstrip("-")


def _ordinal_list(values: Iterable[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}" + ("" if n == 1 else "s")


class _Parser:
    """One capstone.md's front matter, section by section; problems accumulate instead of stopping."""

    def __init__(self, display: str):
        self.display = display
        self.problems: list[Problem] = []

    def error(self, line: int, message: str, severity: str = ERROR) -> None:
        self.problems.append(Problem(self.display, line, message, severity))

    def fields(self, mapping: YamlMapping, fields: tuple[Field, ...], where: str) -> tuple[dict[str, Any], bool]:
        """validate_mapping, with an empty `key:` read as `key: {}` or `key: []` by the field's kind.

        Returns the values (defaults filled in, also where a value was wrong) and whether the
        mapping had no error: rules across its keys are only checked when it had none, so one
        mistake is not reported again as another.
        """
        empty = {f.name: {} if f.kind == "mapping" else [] for f in fields if f.kind in ("mapping", "list")}
        values = {k: (type(empty[k])() if v is None and k in empty else v) for k, v in mapping.values.items()}
        errors_before = self._errors()
        result = validate_mapping(dataclasses.replace(mapping, values=values), fields, self.display, self.problems,
                                  where)
        return result, self._errors() == errors_before

    def _errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == ERROR)

    def parse(self, meta: YamlMapping) -> Capstone | None:
        for duplicate in meta.duplicate_keys:
            self.error(duplicate.line, f"`{duplicate.path[-1]}` is written twice here (first on line "
                                       f"{duplicate.first_line}); keep one: YAML would silently use the last")
        top, _ = self.fields(meta, CAPSTONE_FIELDS, "the capstone's front matter")
        deliverables = self.deliverables(meta, top)
        rubric = self.rubric(meta, top)
        pass_rule = self.pass_rule(meta, top, rubric)
        checks = self.checks(meta, top, deliverables)
        blind = self.review(meta, top)
        if "title" not in top or deliverables is None or rubric is None or pass_rule is None or checks is None:
            return None
        return Capstone(title=top["title"], deliverables=deliverables, rubric=rubric, pass_rule=pass_rule,
                        checks=checks, max_revisions=top["max_revisions"], blind_review=blind)

    def review(self, meta: YamlMapping, top: dict) -> bool:
        if top.get("review") is None:
            return False  # absent, or not a mapping (reported)
        values, _ = self.fields(_sub(meta, "review"), REVIEW_FIELDS, "`review`")
        return bool(values["blind"])

    # -- deliverables ---------------------------------------------------------------------------------

    def deliverables(self, meta: YamlMapping, top: dict) -> Deliverables | None:
        if top["deliverables"] is not None:
            section = _sub(meta, "deliverables")
        elif "deliverables" in meta.values:
            return None  # not a mapping: reported
        else:
            section = YamlMapping({}, {}, meta.first_line)
        values, clean = self.fields(section, DELIVERABLES_FIELDS, "`deliverables`")
        links = self.link_rule(_sub(section, "links")) if values["links"] is not None else None
        files = self.file_rule(_sub(section, "files")) if values["files"] is not None else None
        if not clean or (values["links"] is not None and links is None) or (values["files"] is not None
                                                                            and files is None):
            return None
        if values["text"] == "none" and links is None and files is None:
            self.error(section.first_line, "the capstone asks for nothing: with `text: none`, add `links:` or "
                                           "`files:` under `deliverables`, or set `text: required`")
            return None
        return Deliverables(values["text"], links, files)

    def link_rule(self, section: YamlMapping) -> LinkRule | None:
        values, clean = self.fields(section, LINKS_FIELDS, "`deliverables.links`")
        if not clean:
            return None
        if values["min"] > values["max"]:
            self.error(section.line("min"), self._min_above_max(values, section))
            return None
        return LinkRule(values["min"], values["max"], values["label"])

    def file_rule(self, section: YamlMapping) -> FileRule | None:
        values, ok = self.fields(section, FILES_FIELDS, "`deliverables.files`")
        if ok and values["min"] > values["max"]:
            self.error(section.line("min"), self._min_above_max(values, section))
            ok = False
        types = self.file_types(section, "types", values["types"]) if "types" in values else None
        if not ok or types is None:
            return None
        per_file = values["max_size_mb"]
        total = values.get("total_size_mb")
        if total is None:
            total = min(values["max"] * per_file, MAX_TOTAL_MB)
        elif total < per_file:
            self.error(section.line("total_size_mb"),
                       f"`total_size_mb` ({total:g}) is less than `max_size_mb` ({per_file:g}), so one file of "
                       f"the largest size would not fit: make `total_size_mb` at least {per_file:g}")
            return None
        return FileRule(values["min"], values["max"], round(per_file * MB), round(total * MB), types)

    @staticmethod
    def _min_above_max(values: dict, section: YamlMapping) -> str:
        default = "" if "max" in section.values else ", the default"
        return (f"`min` ({values['min']}) is more than `max` ({values['max']}{default}): make `min` at most "
                f"`max`, or raise `max`")

    def file_types(self, section: YamlMapping, key: str, written: list[str],
                   allowed: tuple[str, ...] | None = None) -> tuple[str, ...] | None:
        """Extensions, lower-case without a dot, each known to the upload registry (or, for the
        file_types check, each among the deliverable's types)."""
        if not written:
            self.error(section.line(key), f"`{key}` is empty: list extensions, e.g. `{key}: [pdf, zip]`")
            return None
        seen: dict[str, int] = {}
        ok = True
        for index, extension in enumerate(written):
            line = section.line(key, index)
            suggestion = extension.lower().lstrip(".")
            if extension != suggestion:
                self.error(line, f"write file types in lower case without a dot: `{suggestion}`, not `{extension}`")
                ok = False
                continue
            if allowed is not None and extension not in allowed:
                self.error(line, f"`{extension}` is not among `deliverables.files.types` "
                                 f"({', '.join(allowed)}): add it there, or remove it here")
                ok = False
                continue
            if extension not in FILE_TYPES:
                close = difflib.get_close_matches(extension, FILE_TYPES, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                self.error(line, f"learners cannot upload `{extension}` files; {hint}allowed types: "
                                 f"{', '.join(sorted(FILE_TYPES))}")
                ok = False
                continue
            if extension in seen:
                self.error(line, f"`{extension}` is listed twice (first on line {seen[extension]}); keep one")
                ok = False
                continue
            seen[extension] = line
        return tuple(seen) if ok else None

    # -- the rubric -----------------------------------------------------------------------------------

    def rubric(self, meta: YamlMapping, top: dict) -> tuple[Criterion, ...] | None:
        if top.get("rubric") is None:
            return None  # missing or not a list: reported
        entries = top["rubric"]
        line = meta.line("rubric")
        if not entries:
            self.error(line, "the rubric has no criteria: add at least one, starting with `- title: ...` "
                             "and its `levels:`")
            return None
        if len(entries) > MAX_CRITERIA:
            self.error(meta.line("rubric", MAX_CRITERIA),
                       f"the rubric has {len(entries)} criteria; keep it to {MAX_CRITERIA} at most")
            return None
        criteria: list[Criterion] = []
        keys: dict[str, int] = {}
        ok = True
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                self.error(meta.line("rubric", index), f"criterion {index + 1} of the rubric is not a set of "
                                                       "settings: start it with `- title: ...`, then its "
                                                       "`levels:` indented below")
                ok = False
                continue
            criterion = self.criterion(_sub(meta, "rubric", index), index, keys)
            ok = ok and criterion is not None
            if criterion is not None:
                criteria.append(criterion)
        return tuple(criteria) if ok else None

    def criterion(self, section: YamlMapping, index: int, keys: dict[str, int]) -> Criterion | None:
        values, clean = self.fields(section, CRITERION_FIELDS, f"criterion {index + 1} of the rubric")
        if "title" not in values:
            return None
        title = values["title"]
        name = f"criterion {index + 1} ({title})"
        key, key_line = values.get("key"), section.line("key")
        if key is None:
            key, key_line = key_from_title(title), section.line("title")
            if not key:
                self.error(key_line, f"{name}: its title gives no key (letters or digits): add "
                                     "`key: ...`, e.g. `key: question`")
                return None
        ok = True
        if key in keys:
            self.error(key_line, f"{name}: the key `{key}` is also used by the criterion on line {keys[key]}; "
                                 "give each criterion its own `key:`")
            ok = False
        else:
            keys[key] = section.first_line
        levels = self.levels(section, values, name) if "levels" in values else None
        if levels is None or not ok or not clean:
            return None
        required, min_points = values["required"], values["min_points"]
        if min_points is not None and not required:
            self.error(section.line("min_points"), f"{name}: `min_points` applies only to a required criterion: "
                                                   "add `required: true`, or remove `min_points`")
            return None
        if required:
            if min_points is None:
                min_points = levels[1].points
            elif all(level.points != min_points for level in levels):
                self.error(section.line("min_points"),
                           f"{name}: `min_points` must be the points of one of its levels: "
                           f"{_ordinal_list(lv.points for lv in levels)}")
                return None
            elif min_points == levels[0].points:
                self.error(section.line("min_points"),
                           f"{name}: `min_points` is the lowest level's points, so the criterion is always met; "
                           f"raise it (e.g. `min_points: {levels[1].points:g}`) or remove `required: true`", WARNING)
            min_points = as_number(min_points)
        return Criterion(key=key, title=title, description=values["description"], levels=levels,
                         required=required, min_points=min_points)

    def levels(self, section: YamlMapping, values: dict, name: str) -> tuple[Level, ...] | None:
        entries = values["levels"]
        if not MIN_LEVELS <= len(entries) <= MAX_LEVELS:
            self.error(section.line("levels"), f"{name} has {_plural(len(entries), 'level')}; give it "
                                               f"{MIN_LEVELS} to {MAX_LEVELS}, e.g. `- {{points: 0, title: "
                                               "Missing}` and `- {points: 2, title: Complete}`")
            return None
        levels: list[Level] = []
        points_lines: dict[float, int] = {}
        ok = True
        for index, entry in enumerate(entries):
            line = section.line("levels", index)
            if not isinstance(entry, dict):
                self.error(line, f"level {index + 1} of {name} is not a set of settings: write it as "
                                 "`- {points: 2, title: Developing, description: ...}`")
                ok = False
                continue
            level_section = _sub(section, "levels", index)
            level, clean = self.fields(level_section, LEVEL_FIELDS, f"level {index + 1} of {name}")
            if not clean:
                ok = False
                continue
            points = as_number(level["points"])
            if points in points_lines:
                self.error(level_section.line("points"),
                           f"level {index + 1} of {name} gives {_plural(points, 'point')}, as does the level on "
                           f"line {points_lines[points]}; give each level different points")
                ok = False
                continue
            points_lines[points] = level_section.line("points")
            levels.append(Level(points, level["title"], level["description"]))
        if not ok:
            return None
        return tuple(sorted(levels, key=lambda lv: lv.points))

    # -- the pass rule ---------------------------------------------------------------------------------

    def pass_rule(self, meta: YamlMapping, top: dict, rubric: tuple[Criterion, ...] | None) -> PassRule | None:
        if top.get("pass") is None:
            return None  # missing or not a mapping: reported
        section = _sub(meta, "pass")
        values, clean = self.fields(section, PASS_FIELDS, "`pass`")
        if not clean:
            return None
        min_points = values["min_points"]
        if rubric is None:
            return PassRule(min_points)  # the rubric's own errors are reported; nothing to compare with
        if min_points is None and not any(c.required for c in rubric):
            self.error(section.first_line, "the pass rule says nothing: add `min_points: N` (the total needed) "
                                           "under `pass`, or `required: true` to a criterion")
            return None
        total = add_points(c.max_points for c in rubric)
        if min_points is not None and min_points > total:
            self.error(section.line("min_points"), f"`min_points` is {min_points:g} but the rubric's highest total "
                                                   f"is {total:g}: lower `min_points` or add points to the levels")
            return None
        return PassRule(None if min_points is None else as_number(min_points))

    # -- automated checks -------------------------------------------------------------------------------

    def checks(self, meta: YamlMapping, top: dict, deliverables: Deliverables | None) -> dict[str, Any] | None:
        if top["checks"] is None:
            return None if "checks" in meta.values else {}  # not a mapping (reported), or no checks
        section = _sub(meta, "checks")
        values, ok = self.fields(section, CHECK_FIELDS, "`checks`")
        checks: dict[str, Any] = {}
        for key in CHECK_KEYS:
            if values[key] is None or key not in section.values:
                continue
            line = section.line(key)
            if deliverables is not None:
                needs = self._missing_deliverable(key, deliverables)
                if needs:
                    self.error(line, needs)
                    ok = False
                    continue
            value = values[key]
            if key == "headings":
                value = self.headings(section, value)
            elif key == "file_types":
                if deliverables is None:
                    continue  # nothing to compare with; deliverables' errors are reported
                value = self.file_types(section, key, value, allowed=deliverables.files.types)
            elif key == "link_patterns":
                value = self.link_patterns(section, value)
            if value is None:
                ok = False
            else:
                checks[key] = value
        return checks if ok else None

    @staticmethod
    def _missing_deliverable(key: str, deliverables: Deliverables) -> str | None:
        if key in ("headings", "min_words") and deliverables.text == "none":
            return (f"`{key}` looks at the text answer, but `deliverables.text` is `none`: set `text: required` "
                    f"(or `optional`), or remove `{key}`")
        if key == "file_types" and deliverables.files is None:
            return ("`file_types` looks at the uploaded files, but the capstone asks for none: add "
                    "`files:` with `types: [...]` under `deliverables`, or remove `file_types`")
        if key == "link_patterns" and deliverables.links is None:
            return ("`link_patterns` looks at the links, but the capstone asks for none: add `links:` under "
                    "`deliverables`, or remove `link_patterns`")
        return None

    def headings(self, section: YamlMapping, written: list[str]) -> tuple[str, ...] | None:
        if not written:
            self.error(section.line("headings"), "`headings` is empty: list the headings the text must have, "
                                                 "e.g. `headings: [Summary, Method]`, or remove it")
            return None
        seen: dict[str, int] = {}
        for index, heading in enumerate(written):
            line = section.line("headings", index)
            folded = " ".join(heading.split()).casefold()
            if folded in seen:
                self.error(line, f"the heading `{heading}` is listed twice (first on line {seen[folded]}); "
                                 "keep one (headings match whatever their case)")
                return None
            seen[folded] = line
        return tuple(" ".join(h.split()) for h in written)

    def link_patterns(self, section: YamlMapping, written: list) -> tuple[str, ...] | None:
        if not written:
            self.error(section.line("link_patterns"), "`link_patterns` is empty: list regular expressions, "
                                                      "e.g. `link_patterns: ['^https://github\\.com/']`, "
                                                      "or remove it")
            return None
        ok = True
        for index, pattern in enumerate(written):
            line = section.line("link_patterns", index)
            if not isinstance(pattern, str) or not pattern.strip():
                self.error(line, "each link pattern is a regular expression in quotes, e.g. "
                                 "`'^https://github\\.com/'`")
                ok = False
                continue
            try:
                regex.compile(pattern)
            except regex.error as exc:
                self.error(line, f"the link pattern {pattern!r} is not a valid regular expression ({exc}); "
                                 "quote it in single quotes and escape a literal dot as `\\.`")
                ok = False
                continue
            slow = regex_problem(pattern)
            if slow:
                self.error(line, f"link pattern: {slow}")
                ok = False
        return tuple(written) if ok else None


def _sub(mapping: YamlMapping, *path: str | int) -> YamlMapping:
    """The nested mapping at path; an empty `key:` is an empty mapping starting on that key's line."""
    value: Any = mapping.values
    for step in path:
        value = value[step]
    if value is None:
        return YamlMapping({}, {}, mapping.line(*path))
    return mapping.sub(*path)
