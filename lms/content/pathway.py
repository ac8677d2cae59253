"""Pathways: ``courses/_pathways/<slug>.yml``, a credential for holding several course credentials.

Pure Python, like the rest of lms/content. A pathway is checked against the courses loaded in the
same run, so it is only read when a folder of courses is loaded (never for one course folder): every
slug it lists must be a course there that awards a credential. Each mistake is reported on its line,
worded as what to write instead. See docs/course-format.md (Pathways) and docs/decisions/0013-pathways.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import posixpath
from pathlib import Path

from lms.content.credential import CredentialSkill, image_problem, parse_skills
from lms.content.fields import PATHWAY_FIELDS, SLUG_PATTERN, validate_mapping
from lms.content.source import ERROR, WARNING, Problem, SourceError, YamlMapping, parse_yaml_mapping, read_text
from lms.content.specs import AssetSpec, CourseSpec, PathwaySpec

PATHWAYS_FOLDER = "_pathways"
IMAGE_MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
MAX_IMAGE_BYTES = 1024 * 1024
MIN_COURSES = 2
# Keys of a course's credential that a pathway cannot have: its validity follows its courses (decision 0013).
VALIDITY_KEYS = ("valid_for_months", "recertify_by")


def load_pathways(folder: Path, display_root: Path, courses: list[CourseSpec], failed: set[str],
                  problems: list[Problem]) -> list[PathwaySpec]:
    """Every ``<slug>.yml`` in ``folder``, checked against ``courses`` (``failed``: course folders that did
    not load, so a pathway naming one is not told the course does not exist)."""
    def show(path: Path) -> str:
        try:
            return str(path.relative_to(display_root))
        except ValueError:
            return str(path)

    assets = _images(folder, show, problems)
    pathways: list[PathwaySpec] = []
    seen: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or (entry.name in ("assets", "README.md") and not entry.is_symlink()):
            continue
        if entry.is_symlink():
            problems.append(Problem(show(entry), 0, "symbolic links are not allowed in _pathways/; copy the file"))
            continue
        if entry.suffix == ".yaml" and entry.is_file():
            problems.append(Problem(show(entry), 0, f"name pathway files `<slug>.yml`: rename it to "
                                                    f"`{entry.stem}.yml`"))
            continue
        if entry.suffix != ".yml" or not entry.is_file():
            problems.append(Problem(show(entry), 0, "ignored: only <slug>.yml pathway files, README.md and assets/ "
                                                    "belong in _pathways/", WARNING))
            continue
        spec = _PathwayReader(entry, show(entry), courses, failed, assets, problems).read()
        if spec is None:
            continue
        if spec.slug in seen:
            problems.append(Problem(show(entry), 0, f"pathway slug `{spec.slug}` is already used by {seen[spec.slug]}; "
                                                    f"give each pathway its own slug"))
            continue
        seen[spec.slug] = show(entry)
        pathways.append(spec)
    return pathways


def _images(folder: Path, show, problems: list[Problem]) -> dict[str, AssetSpec]:
    """The badge images in _pathways/assets/ by their path relative to _pathways/ ("assets/x.svg")."""
    found: dict[str, AssetSpec] = {}
    assets_dir = folder / "assets"
    if not assets_dir.is_dir() or assets_dir.is_symlink():
        return found
    for path in sorted(assets_dir.iterdir()):
        extension = path.suffix.lower()
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.is_symlink():
            problems.append(Problem(show(path), 0, "symbolic links are not allowed in _pathways/; copy the file"))
            continue
        if extension not in IMAGE_MEDIA_TYPES:
            problems.append(Problem(show(path), 0, "ignored: _pathways/assets/ holds badge images (PNG or SVG)",
                                    WARNING))
            continue
        data = path.read_bytes()
        if len(data) > MAX_IMAGE_BYTES:
            problems.append(Problem(show(path), 0, "a badge image may be 1 MB at most"))
            continue
        relative = posixpath.join("assets", path.name)
        found[relative] = AssetSpec(path=relative, source=path, sha256=hashlib.sha256(data).hexdigest(),
                                    extension=extension, media_type=IMAGE_MEDIA_TYPES[extension], size=len(data))
    return found


class _PathwayReader:
    def __init__(self, path: Path, display: str, courses: list[CourseSpec], failed: set[str],
                 images: dict[str, AssetSpec], problems: list[Problem]):
        self.path, self.display, self.failed, self.images = path, display, failed, images
        self.courses = {course.slug: course for course in courses}
        self.problems = problems
        self._errors_at_start = self._error_count()

    def _error_count(self) -> int:
        return sum(p.severity == ERROR for p in self.problems)

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.display, line, message))

    def read(self) -> PathwaySpec | None:
        try:
            mapping = parse_yaml_mapping(read_text(self.path, self.display), self.display)
        except SourceError as exc:
            self.problems.append(exc.problem)
            return None
        for key in VALIDITY_KEYS:
            if key in mapping.values:
                self.error(mapping.line(key), f"a pathway has no `{key}`: its credential is valid as long as the "
                                              "course credentials it rests on (set `valid_for_months` in those "
                                              "courses' `credential:`); remove this line")
        mapping = dataclasses.replace(mapping, values={k: v for k, v in mapping.values.items()
                                                       if k not in VALIDITY_KEYS})
        values = validate_mapping(mapping, PATHWAY_FIELDS, self.display, self.problems, "a pathway")
        slug = values.get("slug") or self.path.stem
        if not SLUG_PATTERN.match(slug):
            self.error(1, f"the file name `{self.path.name}` does not make a valid pathway slug; rename it using "
                          "lower-case letters, digits and hyphens (e.g. `data-practitioner.yml`), or set `slug:`")
        if slug in self.courses:
            self.error(mapping.line("slug") if "slug" in mapping.values else 1,
                       f"`{slug}` is also a course's slug; a pathway and a course cannot share one (both credentials "
                       f"are published at /achievements/<slug>): rename the file or set `slug:`")
        listed = self._courses(mapping, values)
        required = self._required(mapping, values, listed)
        skills = parse_skills(mapping, values, self._default_skills(listed), self.error, self.display,
                              self.problems)
        image = values.get("image")
        if image is not None and (message := image_problem(image, frozenset(self.images), "_pathways/assets/")):
            self.error(mapping.line("image"), message)
        if self._error_count() > self._errors_at_start:
            return None
        criteria = values.get("criteria") or self._default_criteria(listed, required)
        assets = (self.images[image],) if image else ()
        content = {k: v for k, v in values.items() if k not in ("criteria", "skills")}
        content_hash = hashlib.sha256(json.dumps(
            [content, list(listed), required, criteria, [dataclasses.asdict(s) for s in skills],
             [a.sha256 for a in assets]], sort_keys=True, default=str).encode()).hexdigest()
        return PathwaySpec(
            slug=slug, title=values["title"], summary=values["summary"], courses=listed, required=required,
            name=values.get("name") or values["title"], description=values.get("description") or values["summary"],
            criteria=criteria, skills=skills, source_path=self.display, content_hash=content_hash, image=image,
            assets=assets)

    def _courses(self, mapping: YamlMapping, values: dict) -> tuple[str, ...]:
        listed: list[str] = []
        for index, slug in enumerate(values.get("courses") or []):
            line = mapping.line("courses", index)
            course = self.courses.get(slug)
            if slug in listed:
                self.error(line, f"`{slug}` is listed twice; list each course once")
                continue
            if course is None and slug in self.failed:
                self.error(line, f"the course `{slug}` did not load (see its errors above), so this pathway cannot "
                                 "be checked against it")
            elif course is None:
                close = difflib.get_close_matches(slug, self.courses, n=1)
                hint = f"did you mean `{close[0]}`? " if close else ""
                known = ", ".join(sorted(self.courses)) or "none"
                self.error(line, f"`{slug}` is not a course in this folder; {hint}write a course's slug (its folder "
                                 f"name); the courses are: {known}")
            elif course.credential is None:
                self.error(line, f"the course `{slug}` awards no credential (its course.yml says `credential: false`, "
                                 "or it has no quiz or capstone), so it cannot count toward a pathway; remove it here "
                                 "or give the course a credential")
            listed.append(slug)  # (even when reported: `require` is checked against what was written)
        if "courses" in values and len(listed) < MIN_COURSES:
            self.error(mapping.line("courses"), "a pathway stacks at least two courses; list two or more course "
                                                "slugs under `courses:`, one per line starting with `- `")
        return tuple(listed)

    def _required(self, mapping: YamlMapping, values: dict, listed: tuple[str, ...]) -> int:
        written = values.get("require", "all")
        if written == "all":
            return len(listed)
        if written > len(listed) and listed:
            self.error(mapping.line("require"), f"`require: {written}` but the pathway lists {len(listed)} courses; "
                                                f"write a number from 1 to {len(listed)}, or `require: all`")
        return written

    def _default_skills(self, listed: tuple[str, ...]) -> tuple[CredentialSkill, ...]:
        """The skills of the courses' credentials, in course order, each name once."""
        skills: dict[str, CredentialSkill] = {}
        for slug in listed:
            course = self.courses.get(slug)
            for skill in (course.credential.skills if course and course.credential else ()):
                skills.setdefault(skill.name.casefold(), skill)
        return tuple(skills.values())

    def _default_criteria(self, listed: tuple[str, ...], required: int) -> str:
        names = ", ".join(f"{self.courses[s].title} ({self.courses[s].credential.name})" for s in listed)
        if required == len(listed):
            return f"Hold a current credential of each of these courses: {names}."
        return f"Hold current credentials of any {required} of these {len(listed)} courses: {names}."
