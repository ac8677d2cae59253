"""The allowed keys of course.yml, module.yml, lesson and capstone front matter, and their validation.

Each key is a Field: its type, whether it is required, its default. docs/course-format.md documents
every one of them (a test keeps the two in step).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from lms.content.source import Problem, YamlMapping

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Field:
    name: str
    # "text", "int", "number", "bool", "text-list", "date", "choice", "slug", "count" (`all` or a
    # whole number); "mapping" and "list" only check the shape: their content has fields of its own
    # (the capstone's settings and rubric).
    kind: str
    required: bool = False
    default: Any = None
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # an exclusive minimum: the value must be more than this

    def check(self, value: Any) -> tuple[Any, str | None]:
        """Return (normalised value, None) or (None, what to write instead)."""
        kind = self.kind
        if kind in ("text", "slug", "choice"):
            if isinstance(value, (int, float)) and not isinstance(value, bool) and kind == "text":
                value = str(value)
            if isinstance(value, bool):  # YAML reads yes/no/on/off unquoted as true/false
                return None, f"`{self.name}` was read as {str(value).lower()}: put the text in quotes, " \
                             f"e.g. `{self.name}: \"{'Yes' if value else 'No'}\"`"
            if not isinstance(value, str) or not value.strip():
                return None, f"`{self.name}` must be a non-empty text, e.g. `{self.name}: {self._example()}`"
            value = value.strip()
            if self.max_length and len(value) > self.max_length:
                return None, f"`{self.name}` is {len(value)} characters long; shorten it to {self.max_length} at most"
            if kind == "slug" and not SLUG_PATTERN.match(value):
                return None, f"`{self.name}` must use lower-case letters, digits and hyphens, e.g. `{self._example()}`"
            if kind == "choice" and value not in self.choices:
                return None, f"`{self.name}` must be one of: {', '.join(self.choices)} (got {value!r})"
            return value, None
        if kind in ("int", "number"):
            ok_type = int if kind == "int" else (int, float)
            if isinstance(value, bool) or not isinstance(value, ok_type):
                noun = "a whole number" if kind == "int" else "a number"
                return None, f"`{self.name}` must be {noun}, e.g. `{self.name}: {self._example()}`"
            if not math.isfinite(value):
                return None, f"`{self.name}` must be a finite number, e.g. `{self.name}: {self._example()}`"
            if self.above is not None and value <= self.above:
                return None, f"`{self.name}` must be more than {self.above:g}"
            if self.minimum is not None and value < self.minimum:
                return None, f"`{self.name}` must be at least {self.minimum:g}"
            if self.maximum is not None and value > self.maximum:
                return None, f"`{self.name}` must be at most {self.maximum:g}"
            return value, None
        if kind == "text-list":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                return None, f"`{self.name}` must be a list of texts, e.g. `{self.name}: [first, second]`"
            return [v.strip() for v in value], None
        if kind == "count":
            if value == "all":
                return value, None
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                return None, f"`{self.name}` must be `all` or a whole number of at least 1, e.g. `{self.name}: 2`"
            return value, None
        if kind == "bool":
            if not isinstance(value, bool):
                return None, f"`{self.name}` must be true or false"
            return value, None
        if kind == "date":
            if isinstance(value, date):
                return value, None
            return None, f"`{self.name}` must be a date written YYYY-MM-DD, e.g. `{self.name}: 2026-09-30`"
        if kind == "mapping":
            if not isinstance(value, dict):
                return None, (f"`{self.name}` holds settings: write `{self.name}:` alone on its line and its "
                              "settings below it, indented (`key: value`)")
            return value, None
        if kind == "list":
            if not isinstance(value, list):
                return None, (f"`{self.name}` is a list: write `{self.name}:` alone on its line and each entry "
                              "below it on a line starting with `- `")
            return value, None
        raise AssertionError(f"unknown field kind {kind}")

    def _example(self) -> str:
        examples = {"slug": "my-course", "int": "10", "number": "6", "choice": (self.choices or ("x",))[0]}
        return examples.get(self.kind, "...")


COURSE_FIELDS = (
    Field("title", "text", required=True, max_length=200),
    Field("summary", "text", required=True, max_length=300),
    Field("slug", "slug", max_length=80),
    Field("description", "text"),
    Field("level", "choice", default="beginner", choices=("beginner", "intermediate", "advanced")),
    Field("estimated_hours", "number", minimum=0.1),
    Field("language", "text", default="en", max_length=20),
    Field("skills", "text-list", default=[]),
    Field("outcomes", "text-list", default=[]),
    Field("authors", "text-list", default=[]),
    Field("version", "text", default="", max_length=40),
    Field("reviewed_on", "date"),
    Field("review_every", "int", default=12, minimum=1),
    Field("prerequisites", "text-list", default=[]),  # slugs of courses to complete before enrolling
    Field("credential", "mapping"),  # read by lms/content/credential.py; `credential: false` awards none
)

# course.yml's `credential:` mapping, and each entry of its `skills:` written as a mapping.
CREDENTIAL_FIELDS = (
    Field("name", "text", max_length=200),  # default: the course's title
    Field("description", "text", max_length=2000),  # default: the course's summary
    Field("criteria", "text", max_length=5000),  # default: written from `requires`
    Field("image", "text", max_length=300),  # a PNG or SVG under assets/
    Field("skills", "list"),  # default: the course's `skills`
    Field("requires", "mapping"),
    Field("valid_for_months", "int", minimum=1, maximum=240),  # default: no expiry
    Field("recertify_by", "choice", choices=("quiz", "capstone")),
)

CREDENTIAL_SKILL_FIELDS = (
    Field("name", "text", required=True, max_length=200),
    Field("url", "text", max_length=500),  # the skill in a public framework (ESCO, O*NET, a CASE item...)
    Field("framework", "text", max_length=200),
    Field("code", "text", max_length=100),
)

CREDENTIAL_REQUIRES_FIELDS = (
    Field("quizzes", "text-list"),  # "all" (the default) or module-slug/quiz-slug entries; [] for none
    Field("capstone", "bool"),  # default: true when the course has a capstone
    Field("test_out", "bool"),  # default: false; true lets a module mastered by its placement quiz count
)

# courses/_pathways/<slug>.yml: a credential for holding several course credentials (lms/content/pathway.py).
PATHWAY_FIELDS = (
    Field("title", "text", required=True, max_length=200),
    Field("summary", "text", required=True, max_length=300),
    Field("slug", "slug", max_length=80),  # default: the file name without .yml
    Field("courses", "text-list", required=True),  # course slugs, in the order the pathway shows them
    Field("require", "count", default="all"),  # `all`, or how many of `courses`
    Field("name", "text", max_length=200),  # the credential's name; default: the title
    Field("description", "text", max_length=2000),  # what the holder can do; default: the summary
    Field("criteria", "text", max_length=5000),  # default: written from `courses` and `require`
    Field("image", "text", max_length=300),  # a PNG or SVG under _pathways/assets/
    Field("skills", "list"),  # default: the skills of the courses' credentials
)

MODULE_FIELDS = (
    Field("title", "text", required=True, max_length=200),
    Field("summary", "text", default="", max_length=300),
    Field("prerequisites", "text-list", default=[]),  # slugs of earlier modules to complete first
)

QUIZ_FIELDS = (
    Field("type", "choice", required=True, choices=("quiz",)),
    Field("title", "text", required=True, max_length=200),
    Field("slug", "slug", max_length=80),
    Field("role", "choice", default="module", choices=("module", "placement", "recertification")),
    Field("pass_score", "number", default=70, minimum=0, maximum=100),  # percent
    Field("attempts", "int", default=0, minimum=0),  # 0: unlimited
    Field("delay", "int", default=0, minimum=0),  # minutes between attempts
    Field("time_limit", "int", minimum=1),  # minutes; none: untimed
    Field("shuffle_questions", "bool", default=False),
    Field("shuffle_options", "bool", default=True),
    Field("draw", "int", minimum=1),  # questions drawn at random from the pool; none: all
    Field("feedback", "choice", default="after_submit",
          choices=("immediately", "after_submit", "after_pass", "never")),
    Field("grade", "choice", default="highest", choices=("highest", "latest")),
)

LESSON_FIELDS = (
    Field("title", "text", required=True, max_length=200),
    Field("type", "choice", default="lesson", choices=("lesson", "quiz")),
    Field("slug", "slug", max_length=80),
    Field("minutes", "int", minimum=1),
    Field("objectives", "text-list", default=[]),
)

# capstone.md: the front matter, then each nested mapping (lms/content/capstone.py reads them).
CAPSTONE_FIELDS = (
    Field("title", "text", required=True, max_length=200),
    Field("max_revisions", "int", default=2, minimum=0),  # resubmissions after "needs revision"
    Field("deliverables", "mapping"),
    Field("rubric", "list", required=True),
    Field("pass", "mapping", required=True),
    Field("checks", "mapping"),
    Field("review", "mapping"),
)

REVIEW_FIELDS = (
    Field("blind", "bool", default=False),  # graders see a pseudonym instead of the learner's name
)

DELIVERABLES_FIELDS = (
    Field("text", "choice", default="required", choices=("required", "optional", "none")),
    Field("links", "mapping"),
    Field("files", "mapping"),
)

LINKS_FIELDS = (
    Field("min", "int", default=0, minimum=0),
    Field("max", "int", default=5, minimum=1, maximum=20),
    Field("label", "text", default="", max_length=200),
)

FILES_FIELDS = (
    Field("min", "int", default=0, minimum=0),
    Field("max", "int", default=5, minimum=1, maximum=20),
    Field("max_size_mb", "number", default=10, above=0, maximum=50),  # per file
    Field("total_size_mb", "number", above=0, maximum=100),  # per submission; default from max and max_size_mb
    Field("types", "text-list", required=True),
)

CRITERION_FIELDS = (
    Field("key", "slug", max_length=80),
    Field("title", "text", required=True, max_length=200),
    Field("description", "text", default=""),
    Field("required", "bool", default=False),
    Field("min_points", "number", minimum=0),
    Field("levels", "list", required=True),
)

LEVEL_FIELDS = (
    Field("points", "number", required=True, minimum=0),
    Field("title", "text", required=True, max_length=200),
    Field("description", "text", default=""),
)

PASS_FIELDS = (
    Field("min_points", "number", minimum=0),
)

CHECK_FIELDS = (
    Field("headings", "text-list"),
    Field("min_words", "int", minimum=1),
    Field("file_types", "text-list"),
    Field("link_patterns", "list"),  # not text-list: stripping would change a pattern
)

CAPSTONE_FIELD_TABLES = (CAPSTONE_FIELDS, REVIEW_FIELDS, DELIVERABLES_FIELDS, LINKS_FIELDS, FILES_FIELDS,
                         CRITERION_FIELDS, LEVEL_FIELDS, PASS_FIELDS, CHECK_FIELDS)


def validate_mapping(mapping: YamlMapping, fields: tuple[Field, ...], display: str,
                     problems: list[Problem], where: str) -> dict[str, Any]:
    """Check keys and values; return the normalised values with defaults filled in."""
    by_name = {f.name: f for f in fields}
    result: dict[str, Any] = {}
    for key, value in mapping.values.items():
        line = mapping.key_lines.get(key, mapping.first_line)
        field = by_name.get(key)
        if field is None:
            close = difflib.get_close_matches(key, by_name, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            problems.append(Problem(display, line, f"unknown key `{key}` in {where}; {hint}allowed keys: "
                                                   f"{', '.join(by_name)}"))
            continue
        if value is None:
            if field.required:
                problems.append(Problem(display, line, f"`{key}` is empty; give it a value"))
            continue
        normalised, error = field.check(value)
        if error:
            problems.append(Problem(display, line, error))
        else:
            result[key] = normalised
    for field in fields:
        if field.name not in mapping.values:
            if field.required:
                problems.append(Problem(display, mapping.first_line,
                                        f"missing required key `{field.name}` in {where}; add `{field.name}: ...`"))
        if field.name not in result and not field.required:
            result[field.name] = list(field.default) if isinstance(field.default, list) else field.default
    return result
