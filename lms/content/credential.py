"""A course's credential, as course.yml's ``credential:`` describes it: what it is called and certifies,
which assessments earn it, and how long it lasts.

Pure Python, like the rest of lms/content: ``parse_credential`` checks the mapping against what the
course holds (its module quizzes, recertification quizzes, capstone and assets) and reports each
mistake on its line. With no ``credential:`` key, a course with assessments awards the default
credential (every module quiz and the capstone); ``credential: false`` awards none. A credential
must require at least one assessment: one given for reading lessons certifies nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lms.content.fields import CREDENTIAL_FIELDS, CREDENTIAL_REQUIRES_FIELDS, CREDENTIAL_SKILL_FIELDS, validate_mapping
from lms.content.source import ERROR, Problem, YamlMapping

IMAGE_TYPES = (".png", ".svg")


@dataclass(frozen=True)
class CredentialSkill:
    name: str
    url: str | None = None
    framework: str | None = None
    code: str | None = None

    def to_json(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class CredentialRule:
    name: str
    description: str
    criteria: str  # Markdown narrative of what earns it
    skills: tuple[CredentialSkill, ...]
    required_quizzes: tuple[str, ...]  # "module-slug/quiz-slug", in course order
    requires_capstone: bool
    image: str | None = None  # an asset path, e.g. "assets/badge.svg"
    valid_for_months: int | None = None
    recertify_by: str | None = None  # "quiz" or "capstone" when it expires
    # A required quiz of a module the learner tested out of (passed its placement quiz) counts as passed.
    accepts_test_out: bool = False

    def to_json(self) -> dict[str, Any]:
        """The canonical form stored with each version of the achievement (no source positions)."""
        requires = {"quizzes": list(self.required_quizzes), "capstone": self.requires_capstone}
        if self.accepts_test_out:  # (only when set: definitions written before it keep their hash)
            requires["test_out"] = True
        return {
            "name": self.name, "description": self.description, "criteria": self.criteria,
            "image": self.image,
            "skills": [s.to_json() for s in self.skills],
            "requires": requires,
            "valid_for_months": self.valid_for_months, "recertify_by": self.recertify_by,
        }


@dataclass(frozen=True)
class CourseAssessments:
    """What the course offers to require, for checking the credential against it."""
    title: str
    summary: str
    skills: tuple[str, ...]
    module_quizzes: tuple[tuple[str, str], ...]  # (ref "module/quiz", quiz title), in course order
    recertification_quizzes: tuple[str, ...]
    has_capstone: bool
    assets: frozenset[str]
    placement_modules: frozenset[str] = frozenset()  # slugs of the modules that have a placement quiz


def default_criteria(rule_quizzes: tuple[str, ...], titles: dict[str, str], capstone: bool) -> str:
    parts = []
    if rule_quizzes:
        names = ", ".join(titles.get(ref, ref) for ref in rule_quizzes)
        parts.append(f"Pass {'the quiz' if len(rule_quizzes) == 1 else 'each quiz'}: {names}.")
    if capstone:
        parts.append("Pass the capstone project, reviewed by a grader against its published rubric.")
    return " ".join(parts)


def parse_credential(mapping: YamlMapping | None, written: Any, course: CourseAssessments,
                     display: str) -> tuple[CredentialRule | None, list[Problem]]:
    """``written`` is the raw value of ``credential:`` (absent: None; ``false`` disables it)."""
    problems: list[Problem] = []

    def error(line: int, message: str) -> None:
        problems.append(Problem(display, line, message, ERROR))

    if written is False:
        return None, problems
    if mapping is None:
        mapping = YamlMapping({}, {}, 1)
    values = validate_mapping(mapping, CREDENTIAL_FIELDS, display, problems, "`credential`")
    skills = parse_skills(mapping, values, tuple(CredentialSkill(name) for name in course.skills), error, display,
                          problems)
    quizzes, capstone, test_out = _requires(mapping, values, course, error, display, problems)
    if written is None and not quizzes and not capstone:
        return None, problems  # no assessments and no credential asked for: nothing to award
    if not quizzes and not capstone and not problems:
        error(mapping.line("requires"), "the credential requires no assessment: require at least one quiz or the "
                                        "capstone (a credential for reading lessons certifies nothing), or write "
                                        "`credential: false`")
    image = values.get("image")
    if image is not None and (message := image_problem(image, course.assets, "the course's assets/ folder")):
        error(mapping.line("image"), message)
    months = values.get("valid_for_months")
    recertify = values.get("recertify_by")
    if recertify and months is None:
        error(mapping.line("recertify_by"), "`recertify_by` applies to a credential that expires: set "
                                            "`valid_for_months` too, or remove it")
    if months is not None and recertify is None:
        recertify = "quiz" if course.recertification_quizzes else "capstone" if course.has_capstone else None
    if months is None:
        recertify = None  # (reported above when it was written)
    if recertify == "quiz" and not course.recertification_quizzes:
        error(mapping.line("recertify_by"), "`recertify_by: quiz` needs a quiz with `role: recertification` in "
                                            "the course; add one, or use `recertify_by: capstone`")
    if recertify == "capstone" and not course.has_capstone:
        error(mapping.line("recertify_by"), "`recertify_by: capstone` needs a capstone.md in the course")
    if months is not None and recertify is None:
        error(mapping.line("valid_for_months"), "an expiring credential needs a way to renew it: add a quiz with "
                                                "`role: recertification` or a capstone")
    if any(p.severity == ERROR for p in problems):
        return None, problems
    titles = dict(course.module_quizzes)
    return CredentialRule(
        name=values.get("name") or course.title,
        description=values.get("description") or course.summary,
        criteria=values.get("criteria") or default_criteria(quizzes, titles, capstone),
        skills=skills, required_quizzes=quizzes, requires_capstone=capstone, image=image,
        valid_for_months=months, recertify_by=recertify, accepts_test_out=test_out,
    ), problems


def image_problem(image: str, assets: frozenset[str], folder: str) -> str | None:
    """What is wrong with a badge image path (None when it is a PNG or SVG among ``assets``)."""
    if not image.lower().endswith(IMAGE_TYPES):
        return f"the credential's image must be a PNG or SVG file, got `{image}`"
    if image not in assets:
        return (f"`{image}` is not in {folder}; put the badge image there and write its path, "
                f"e.g. `image: assets/badge.svg`")
    return None


def parse_skills(mapping: YamlMapping, values: dict, default: tuple[CredentialSkill, ...], error, display: str,
                 problems: list[Problem]) -> tuple[CredentialSkill, ...]:
    """A credential's ``skills:`` (names, or mappings aligning a skill to a framework); ``default`` when absent."""
    if "skills" not in mapping.values:
        return default
    skills = []
    for index, entry in enumerate(values.get("skills") or []):
        line = mapping.line("skills", index)
        if isinstance(entry, str) and entry.strip():
            skills.append(CredentialSkill(entry.strip()))
            continue
        if not isinstance(entry, dict):
            error(line, "each skill is a name (`- pandas`) or a mapping with `name:` and optionally `url:`, "
                        "`framework:` and `code:`")
            continue
        fields = validate_mapping(mapping.sub("skills", index), CREDENTIAL_SKILL_FIELDS, display, problems,
                                  "a credential skill")
        url = fields.get("url")
        if url is not None and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            error(mapping.line("skills", index, "url"), f"a skill's `url` must be an http(s) address, got `{url}`")
            continue
        if "name" in fields:
            skills.append(CredentialSkill(fields["name"], url, fields.get("framework"), fields.get("code")))
    return tuple(skills)


def _requires(mapping, values, course, error, display, problems) -> tuple[tuple[str, ...], bool, bool]:
    all_quizzes = tuple(ref for ref, _ in course.module_quizzes)
    if "requires" not in mapping.values or mapping.values.get("requires") is None:
        return all_quizzes, course.has_capstone, False
    section = mapping.sub("requires")
    fields = validate_mapping(section, CREDENTIAL_REQUIRES_FIELDS, display, problems, "`credential.requires`")
    written = fields.get("quizzes")
    if written is None or written == ["all"]:
        quizzes = all_quizzes
    else:
        unknown = [ref for ref in written if ref not in all_quizzes]
        for ref in unknown:
            hint = (f"the course's module quizzes are: {', '.join(all_quizzes)}" if all_quizzes
                    else "the course has no module quiz")
            error(section.line("quizzes"), f"`{ref}` is not a module quiz of this course (write module-slug/"
                                           f"quiz-slug); {hint}")
        quizzes = tuple(ref for ref in all_quizzes if ref in written)
    capstone = fields.get("capstone")
    if capstone is None:
        capstone = course.has_capstone
    elif capstone and not course.has_capstone:
        error(section.line("capstone"), "`capstone: true` but the course has no capstone.md")
    test_out = bool(fields.get("test_out"))
    if test_out and not any(ref.split("/")[0] in course.placement_modules for ref in quizzes):
        error(section.line("test_out"), "`test_out: true` but no module with a required quiz has a placement quiz "
                                        "(a quiz with `role: placement`); add one, or remove `test_out`")
    return quizzes, capstone, test_out
