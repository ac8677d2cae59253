"""Course folder -> CourseSpec, collecting every problem with its file and line.

Pure Python, no Flask and no database: `flask courses check` and `flask courses sync` both call
``load_courses``; sync refuses to write anything when an error was found.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lms.content.capstone import Capstone, parse_capstone
from lms.content.credential import CourseAssessments, CredentialRule, parse_credential
from lms.content.fields import COURSE_FIELDS, LESSON_FIELDS, MODULE_FIELDS, validate_mapping
from lms.content.pathway import PATHWAYS_FOLDER, load_pathways
from lms.content.quizfiles import load_quiz
from lms.content.source import (
    ERROR,
    WARNING,
    Problem,
    SourceError,
    parse_yaml_mapping,
    read_text,
    split_front_matter,
)
from lms.content.specs import LESSON_PATH, AssetSpec, CourseSpec, ItemSpec, ModuleSpec, PathwaySpec
from lms.markup import LinkError, render_markdown, sanitize_html
from lms.questions.model import Quiz
from lms.questions.render import default_renderer, render_question

ORDERED_NAME = re.compile(r"^(\d{2,3})-([a-z0-9]+(?:-[a-z0-9]+)*)$")
# Module slugs that would collide with other course URLs (/courses/<slug>/enroll, .../capstone).
RESERVED_MODULE_SLUGS = frozenset({"enroll", "capstone", "assets", "progress", "unenroll"})
ASSET_TYPES = {
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".svg": "image/svg+xml", ".csv": "text/csv",
    ".tsv": "text/tab-separated-values", ".json": "application/json", ".txt": "text/plain",
    ".pdf": "application/pdf", ".zip": "application/zip", ".ipynb": "application/x-ipynb+json",
    ".py": "text/x-python", ".sql": "application/sql", ".html": "text/plain",
}
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
MAX_ASSET_BYTES = 10 * 1024 * 1024
ROOT_FILES_IGNORED = frozenset({"README.md", "LICENSE", "LICENSE.md", "CHANGELOG.md"})


@dataclass
class LoadResult:
    courses: list[CourseSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Read only with a folder of courses (the pathways are checked against them): None for one course folder.
    pathways: list[PathwaySpec] | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


def load_courses(path: Path) -> LoadResult:
    """Load one course folder (it holds course.yml) or a folder of course folders, with its _pathways/."""
    path = Path(path)
    result = LoadResult()
    if not path.is_dir():
        result.problems.append(Problem(str(path), 0, "no such folder; give the path of a course folder or of courses/"))
        return result
    if (path / "course.yml").exists():
        folders, display_root = [path], path.parent
    else:
        display_root = path
        folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        if not folders:
            result.problems.append(Problem(str(path), 0, "no course folders found (a course folder holds course.yml)"))
    seen: dict[str, str] = {}
    failed: set[str] = set()
    for folder in folders:
        course = _CourseLoader(folder, display_root, result.problems).load()
        if course is None:
            failed.add(folder.name)
            continue
        if course.slug in seen:
            result.problems.append(Problem(
                _display(folder / "course.yml", display_root), 0,
                f"course slug `{course.slug}` is already used by {seen[course.slug]}; give each course its own slug",
            ))
            continue
        seen[course.slug] = _display(folder, display_root)
        result.courses.append(course)
    if display_root == path:  # a folder of courses: their prerequisites name each other, and its pathways
        _check_course_prerequisites(result.courses, failed, display_root, result.problems)
        result.pathways = []
        pathways = path / PATHWAYS_FOLDER
        if pathways.is_symlink():
            result.problems.append(Problem(_display(pathways, display_root), 0,
                                           "symbolic links are not allowed; make _pathways/ a folder"))
        elif pathways.is_dir():
            result.pathways = load_pathways(pathways, display_root, result.courses, failed, result.problems)
    return result


def _check_course_prerequisites(courses: list[CourseSpec], failed: set[str], root: Path,
                                problems: list[Problem]) -> None:
    """Course prerequisites name courses of the same folder, and never go round in a circle.

    (A single course folder loaded alone is not checked: the others are not in view. The sync stores
    the slugs, and a prerequisite that is not in the catalog does not lock anything: lms/enrollments.)
    """
    by_slug = {course.slug: course for course in courses}
    for course in courses:
        where = _display(course.folder / "course.yml", root)
        for required in course.prerequisites:
            if required not in by_slug and required not in failed:
                known = ", ".join(f"`{s}`" for s in sorted(by_slug) if s != course.slug) or "none"
                problems.append(Problem(where, 0, f"prerequisites: there is no course `{required}` in this folder; "
                                                  f"use a course's slug (courses: {known})"))
    for course in courses:  # a cycle: following prerequisites from a course leads back to it
        path, seen = [course.slug], {course.slug}
        stack = [(course.slug, iter(course.prerequisites))]
        while stack:
            _slug, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                path.pop()
                continue
            if following == course.slug:
                circle = " -> ".join(path + [course.slug])
                problems.append(Problem(_display(course.folder / "course.yml", root), 0,
                                        f"prerequisites go round in a circle ({circle}); remove one of them"))
                break
            if following in by_slug and following not in seen:
                seen.add(following)
                path.append(following)
                stack.append((following, iter(by_slug[following].prerequisites)))


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _PendingItem:
    """An item whose file is read but whose body is rendered in a second pass (links need all slugs)."""

    path: Path
    slug: str
    position: int
    kind: str
    title: str
    minutes: int | None
    objectives: tuple[str, ...]
    body: str
    body_first_line: int
    module_slug: str | None
    quiz: Quiz | None = None
    capstone: Capstone | None = None


class _CourseLoader:
    def __init__(self, folder: Path, display_root: Path, problems: list[Problem]):
        self.folder = folder
        self.root = display_root
        self.problems = problems
        self._error_count_at_start = len([p for p in problems if p.severity == ERROR])
        self._quiz_lines: dict[Path, list[int]] = {}  # quiz file -> line of each question
        self.lesson_slugs: set[str] = set()  # every lesson's slug in the course (for quiz lesson= pointers)
        self.assets: dict[str, AssetSpec] = {}  # course-relative path -> asset
        self.lesson_urls: dict[str, str] = {}  # course-relative .md path -> URL

    def show(self, path: Path) -> str:
        return _display(path, self.root)

    def problem(self, path: Path, line: int, message: str, severity: str = ERROR) -> None:
        self.problems.append(Problem(self.show(path), line, message, severity))

    def has_new_errors(self) -> bool:
        return len([p for p in self.problems if p.severity == ERROR]) > self._error_count_at_start

    # -- the course ---------------------------------------------------------------------------

    def load(self) -> CourseSpec | None:
        if not self._check_tree():
            return None
        course_yml = self.folder / "course.yml"
        if not course_yml.exists():
            self.problem(self.folder, 0, "missing course.yml; add one with at least `title:` and `summary:`")
            return None
        try:
            mapping = parse_yaml_mapping(read_text(course_yml, self.show(course_yml)), self.show(course_yml))
        except SourceError as exc:
            self.problems.append(exc.problem)
            return None
        credential_written = mapping.values.get("credential")
        if credential_written is False:  # `credential: false`: the course awards none
            kept = {key: value for key, value in mapping.values.items() if key != "credential"}
            mapping = dataclasses.replace(mapping, values=kept)
        meta = validate_mapping(mapping, COURSE_FIELDS, self.show(course_yml), self.problems, "course.yml")
        slug = meta.get("slug") or self.folder.name
        if not re.match(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", slug):
            self.problem(course_yml, 1, f"the folder name `{slug}` is not a valid course slug; rename the folder "
                                        "using lower-case letters, digits and hyphens, or set `slug:` in course.yml")
        self._collect_assets()
        self.course_slug = slug
        pending_modules = self._read_modules()
        capstone = self._read_capstone()
        modules = tuple(self._finish_module(*entry) for entry in pending_modules)
        capstone_spec = self._finish_item(capstone) if capstone else None
        credential = self._read_credential(mapping, credential_written, meta, modules, capstone_spec, course_yml)
        if slug in meta.get("prerequisites", []):
            self.problem(course_yml, mapping.key_lines.get("prerequisites", 1),
                         f"prerequisites: `{slug}` is this course; list the courses to complete before this one")
        description_html = ""
        if meta.get("description"):
            description_line = mapping.key_lines.get("description", 1)
            description_html = self._render(meta["description"], course_yml, description_line, None)
        if self.has_new_errors():
            return None
        assets = tuple(sorted(self.assets.values(), key=lambda a: a.path))
        content_hash = _hash(
            {k: v for k, v in meta.items() if k != "credential"}, credential.to_json() if credential else None,
            [m.content_hash for m in modules],
            capstone_spec.content_hash if capstone_spec else None, [(a.path, a.sha256) for a in assets],
        )
        return CourseSpec(
            slug=slug, title=meta["title"], summary=meta["summary"], description_html=description_html,
            level=meta["level"], estimated_hours=meta.get("estimated_hours"), language=meta["language"],
            skills=tuple(meta["skills"]), outcomes=tuple(meta["outcomes"]), authors=tuple(meta["authors"]),
            version=meta["version"], reviewed_on=meta.get("reviewed_on"), review_every_months=meta["review_every"],
            modules=modules, capstone=capstone_spec, assets=assets, content_hash=content_hash, folder=self.folder,
            credential=credential, prerequisites=tuple(meta.get("prerequisites", [])),
        )

    def _read_credential(self, mapping, written, meta, modules, capstone_spec, course_yml) -> CredentialRule | None:
        quizzes = tuple((f"{module.slug}/{item.slug}", item.title) for module in modules for item in module.items
                        if item.kind == "quiz" and item.quiz and item.quiz.settings.get("role", "module") == "module")
        recertification = tuple(f"{module.slug}/{item.slug}" for module in modules for item in module.items
                                if item.kind == "quiz" and item.quiz
                                and item.quiz.settings.get("role") == "recertification")
        placement = frozenset(module.slug for module in modules if module.placement is not None)
        course = CourseAssessments(meta.get("title", ""), meta.get("summary", ""), tuple(meta.get("skills") or ()),
                                   quizzes, recertification, capstone_spec is not None, frozenset(self.assets),
                                   placement)
        section = mapping.sub("credential") if isinstance(written, dict) else None
        rule, problems = parse_credential(section, written, course, self.show(course_yml))
        self.problems.extend(problems)
        return rule

    def _check_tree(self) -> bool:
        """Refuse symlinks anywhere in the course: they could pull in files from outside it."""
        ok = True
        for dirpath, dirnames, filenames in os.walk(self.folder, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in dirnames + filenames:
                full = Path(dirpath) / name
                if full.is_symlink():
                    self.problem(full, 0, "symbolic links are not allowed in a course; "
                                          "copy the file into the course folder")
                    ok = False
        return ok

    # -- assets -------------------------------------------------------------------------------

    def _collect_assets(self) -> None:
        assets_dir = self.folder / "assets"
        if not assets_dir.is_dir():
            return
        for path in sorted(assets_dir.rglob("*")):
            if not path.is_file() or any(part.startswith(".") for part in path.relative_to(assets_dir).parts):
                continue
            extension = path.suffix.lower()
            if extension not in ASSET_TYPES:
                self.problem(path, 0, f"files of type `{extension or 'none'}` are not published; allowed: "
                                      f"{', '.join(sorted(ASSET_TYPES))}", WARNING)
                continue
            data = path.read_bytes()
            if len(data) > MAX_ASSET_BYTES:
                self.problem(path, 0, f"the file is {len(data) // 1024 // 1024} MB; assets may be 10 MB at most")
                continue
            relative = path.relative_to(self.folder).as_posix()
            self.assets[relative] = AssetSpec(
                path=relative, source=path, sha256=hashlib.sha256(data).hexdigest(), extension=extension,
                media_type=ASSET_TYPES[extension],
                size=len(data),
            )

    # -- modules and items --------------------------------------------------------------------

    def _read_modules(self) -> list[tuple[Path, str, int, dict, list[_PendingItem]]]:
        modules = []
        seen_positions: dict[int, Path] = {}
        seen_slugs: dict[str, Path] = {}
        for entry in sorted(self.folder.iterdir()):
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_file():
                if name not in ("course.yml", "capstone.md") and name not in ROOT_FILES_IGNORED:
                    self.problem(entry, 0, "ignored: only course.yml, capstone.md, README.md, module folders "
                                           "and assets/ belong in a course folder", WARNING)
                continue
            if name == "assets":
                continue
            match = ORDERED_NAME.match(name)
            if not match:
                if name[:1].isdigit():
                    self.problem(entry, 0, "module folders are named `NN-slug` (two digits, a hyphen, then "
                                           "lower-case letters, digits and hyphens), e.g. `01-getting-started`")
                else:
                    self.problem(entry, 0, "ignored: not a module folder (name module folders `NN-slug`)", WARNING)
                continue
            position, slug = int(match.group(1)), match.group(2)
            if position in seen_positions:
                self.problem(entry, 0, f"module number {match.group(1)} is also used by "
                                       f"{seen_positions[position].name}; give each module its own number")
                continue
            if slug in seen_slugs:
                self.problem(entry, 0, f"module slug `{slug}` is also used by {seen_slugs[slug].name}; rename one")
                continue
            if slug in RESERVED_MODULE_SLUGS:
                self.problem(entry, 0, f"`{slug}` is reserved for the platform's own pages; choose another module name")
                continue
            seen_positions[position], seen_slugs[slug] = entry, entry
            module_yml = entry / "module.yml"
            if not module_yml.exists():
                self.problem(entry, 0, "missing module.yml; add one with `title: ...`")
                continue
            try:
                mapping = parse_yaml_mapping(read_text(module_yml, self.show(module_yml)), self.show(module_yml))
            except SourceError as exc:
                self.problems.append(exc.problem)
                continue
            meta = validate_mapping(mapping, MODULE_FIELDS, self.show(module_yml), self.problems, "module.yml")
            self._check_module_prerequisites(module_yml, mapping, meta, slug, [m[1] for m in modules])
            items = self._read_items(entry, slug)
            self._check_one_placement(items)
            modules.append((entry, slug, position, meta, items))
        if not modules and not self.has_new_errors():
            self.problem(self.folder, 0, "the course has no modules; add a folder such as `01-introduction/` "
                                         "with a module.yml and a lesson")
        return modules

    def _check_module_prerequisites(self, module_yml: Path, mapping, meta: dict, slug: str,
                                    earlier: list[str]) -> None:
        """A module may require earlier modules only: the outline reads top to bottom, and no cycle can form."""
        line = mapping.key_lines.get("prerequisites", 1)
        for required in meta.get("prerequisites", []):
            if required == slug:
                self.problem(module_yml, line, f"prerequisites: `{slug}` is this module; list the earlier modules "
                                               "a learner must complete first")
            elif required not in earlier:
                named = ", ".join(f"`{s}`" for s in earlier) or "none: this is the first module"
                self.problem(module_yml, line, f"prerequisites: `{required}` is not an earlier module of this course; "
                                               f"use the slug of a module before this one (earlier modules: {named})")

    def _check_one_placement(self, items: list[_PendingItem]) -> None:
        placements = [i for i in items if i.quiz is not None and i.quiz.settings.get("role") == "placement"]
        for extra in placements[1:]:
            self.problem(extra.path, 1, f"a module has at most one placement quiz (role: placement), and "
                                        f"{placements[0].path.name} is already one; give this quiz `role: module`")

    def _read_items(self, module_dir: Path, module_slug: str) -> list[_PendingItem]:
        items: list[_PendingItem] = []
        seen_positions: dict[int, str] = {}
        seen_slugs: dict[str, str] = {}
        for path in sorted(module_dir.iterdir()):
            name = path.name
            if name.startswith(".") or name == "module.yml":
                continue
            if path.is_dir():
                self.problem(path, 0, "ignored: modules hold files only; put images and data in the course's assets/",
                             WARNING)
                continue
            stem, extension = path.stem, path.suffix.lower()
            loader = ITEM_FILE_LOADERS.get(extension)
            if loader is None:
                self.problem(path, 0, "ignored: a module holds module.yml, lessons and quizzes (.md) "
                                      "and quizzes (.gift)", WARNING)
                continue
            match = ORDERED_NAME.match(stem)
            if not match:
                self.problem(path, 0, f"name lesson files `NN-slug{extension}` (two digits, a hyphen, then "
                                      f"lower-case letters, digits and hyphens), e.g. `01-welcome{extension}`")
                continue
            item = loader(self, path, int(match.group(1)), match.group(2), module_slug)
            if item is None:
                continue
            if item.position in seen_positions:
                self.problem(path, 0, f"number {match.group(1)} is also used by {seen_positions[item.position]} "
                                      "in this module; give each file its own number")
                continue
            if item.slug in seen_slugs:
                self.problem(path, 0, f"slug `{item.slug}` is also used by {seen_slugs[item.slug]} in this module; "
                                      "rename one")
                continue
            seen_positions[item.position], seen_slugs[item.slug] = name, name
            if item.kind == "lesson":
                self.lesson_slugs.add(item.slug)
            relative = path.relative_to(self.folder).as_posix()
            self.lesson_urls[relative] = LESSON_PATH.format(course=self.course_slug, module=module_slug, item=item.slug)
            items.append(item)
        if not items:
            self.problem(module_dir, 0, "the module has no lessons; add a file such as `01-introduction.md`", WARNING)
        return items

    def load_markdown_item(self, path: Path, position: int, slug: str, module_slug: str | None) -> _PendingItem | None:
        try:
            doc = split_front_matter(read_text(path, self.show(path)), self.show(path))
        except SourceError as exc:
            self.problems.append(exc.problem)
            return None
        if doc.meta.values.get("type") == "quiz":
            return self.load_quiz_item(path, position, slug, module_slug)
        meta = validate_mapping(doc.meta, LESSON_FIELDS, self.show(path), self.problems, "the front matter")
        if "title" not in meta:
            return None
        return _PendingItem(path, meta.get("slug") or slug, position, "lesson", meta["title"], meta.get("minutes"),
                            tuple(meta["objectives"]), doc.body, doc.body_first_line, module_slug)

    def load_quiz_item(self, path: Path, position: int, slug: str, module_slug: str | None) -> _PendingItem | None:
        loaded = load_quiz(path, self.show(path), with_lines=self._quiz_lines.setdefault(path, []))
        self.problems.extend(loaded.problems)
        if loaded.quiz is None:
            return None
        return _PendingItem(path, loaded.slug or slug, position, "quiz", loaded.quiz.title, None, (), "", 1,
                            module_slug, loaded.quiz)

    def _read_capstone(self) -> _PendingItem | None:
        path = self.folder / "capstone.md"
        if not path.exists():
            return None
        try:
            doc = split_front_matter(read_text(path, self.show(path)), self.show(path))
        except SourceError as exc:
            self.problems.append(exc.problem)
            return None
        capstone, problems = parse_capstone(doc.meta, self.show(path))
        self.problems.extend(problems)
        if capstone is None:
            return None
        return _PendingItem(path, "capstone", 0, "capstone", capstone.title, None, (), doc.body, doc.body_first_line,
                            None, capstone=capstone)

    # -- second pass: rendering ----------------------------------------------------------------

    def _finish_module(self, folder: Path, slug: str, position: int, meta: dict,
                       pending: list[_PendingItem]) -> ModuleSpec:
        items = tuple(self._finish_item(item) for item in pending)
        return ModuleSpec(slug=slug, position=position, title=meta.get("title", slug), summary=meta.get("summary", ""),
                          items=items, content_hash=_hash(meta, [i.content_hash for i in items]),
                          prerequisites=tuple(meta.get("prerequisites", [])))

    def _finish_item(self, pending: _PendingItem) -> ItemSpec:
        html = ""
        if pending.kind == "lesson":
            html = self._render(pending.body, pending.path, pending.body_first_line, pending.path.parent)
            if not pending.body.strip():
                self.problem(pending.path, pending.body_first_line, "the lesson has no text after the front matter",
                             WARNING)
        if pending.kind == "capstone":  # the brief, rendered like a lesson (links relative to the course folder)
            html = self._render(pending.body, pending.path, pending.body_first_line, pending.path.parent)
            if not pending.body.strip():
                self.problem(pending.path, pending.body_first_line, "the capstone has no brief after the front "
                             "matter: describe the task, what to hand in and how it is assessed", WARNING)
        question_html: tuple[dict[str, str], ...] = ()
        if pending.quiz is not None:
            question_html = self._render_questions(pending)
            self._check_lesson_pointers(pending)
            if pending.quiz.description is not None:  # the quiz's introduction is its item's HTML
                html = self._render(pending.quiz.description.text, pending.path, 1, pending.path.parent)
        quiz_json = pending.quiz.to_json() if pending.quiz else None
        capstone_json = pending.capstone.to_json() if pending.capstone else None
        content_hash = _hash(pending.kind, pending.title, pending.minutes, pending.objectives, html, quiz_json,
                             question_html, capstone_json)
        return ItemSpec(slug=pending.slug, position=pending.position, kind=pending.kind, title=pending.title,
                        source_path=self.show(pending.path), html=html, minutes=pending.minutes,
                        objectives=pending.objectives, content_hash=content_hash, quiz=pending.quiz,
                        question_html=question_html, capstone=pending.capstone)

    def _check_lesson_pointers(self, pending: _PendingItem) -> None:
        lines = self._quiz_lines.get(pending.path, [])
        for n, question in enumerate(pending.quiz.questions):
            if question.lesson and question.lesson not in self.lesson_slugs:
                self.problem(pending.path, lines[n] if n < len(lines) else 0,
                             f"lesson={question.lesson}: no lesson of this course has that slug; use a lesson "
                             "file's name without its number (e.g. lesson=reading-csv)")

    def _render_questions(self, pending: _PendingItem) -> tuple[dict[str, str], ...]:
        """Each question's texts as HTML, with links and images resolved like a lesson's."""
        resolver = self._resolver(pending.path.parent)
        lines = self._quiz_lines.get(pending.path, [])
        rendered = []
        for n, question in enumerate(pending.quiz.questions):
            line = lines[n] if n < len(lines) else 0
            errors: list[tuple[str, str]] = []

            def renderer(text: str, fmt: str, errors=errors) -> str:
                if fmt == "plain":
                    return default_renderer(text, fmt)
                source = text.replace("\n", "<br>\n") if fmt == "moodle" else text
                result = (render_markdown(source, resolver) if fmt == "markdown"
                          else sanitize_html(source, resolver))
                errors.extend(result.link_errors)
                return result.html

            rendered.append(render_question(question, renderer))
            for _url, message in errors:
                self.problem(pending.path, line, message)
        return tuple(rendered)

    def _render(self, text: str, path: Path, first_line: int, base_dir: Path | None) -> str:
        rendered = render_markdown(text, self._resolver(base_dir or self.folder))
        lines = text.splitlines()
        for url, message in rendered.link_errors:
            self.problem(path, first_line + _line_of(lines, url), message)
        for what in rendered.stripped:
            needle = what.split("<", 1)[-1].rstrip(">").split()[0] if "<" in what else what
            self.problem(path, first_line + _line_of(lines, needle), f"raw HTML {what} will be removed when published",
                         WARNING)
        return rendered.html

    def _resolver(self, base_dir: Path) -> Callable[[str, str], str]:
        base = base_dir.relative_to(self.folder).as_posix() if base_dir != self.folder else ""

        def resolve(url: str, attribute: str) -> str:
            if not url or url.startswith("#") or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
                return url  # in-page anchor, or a URL with a scheme (bleach filters unsafe schemes)
            if url.startswith("//") or url.startswith("/"):
                raise LinkError(f"link `{url}` starts with '/': link to a file in the course with a relative "
                                "path (e.g. `../assets/chart.png`) or to another site with a full https:// URL")
            target, _, fragment = url.partition("#")
            target = target.split("?", 1)[0]
            joined = posixpath.normpath(posixpath.join(base, target))
            if joined.startswith("../") or joined == "..":
                raise LinkError(f"link `{url}` leaves the course folder; copy the file into the course's assets/")
            if joined in self.lesson_urls:
                if attribute == "src":
                    raise LinkError(f"`{url}` is a lesson, not an image")
                return self.lesson_urls[joined] + (f"#{fragment}" if fragment else "")
            if joined in self.assets:
                asset = self.assets[joined]
                if attribute == "src" and asset.extension not in IMAGE_EXTENSIONS:
                    raise LinkError(f"`{url}` is not an image (png, jpg, gif, webp or svg)")
                return asset.url
            if (self.folder / joined).is_file():
                raise LinkError(f"`{url}` is not a lesson or a file in assets/; "
                                "move the file into the course's assets/")
            raise LinkError(f"`{url}` points to `{joined}`, which does not exist in the course; check the path "
                            "(paths are relative to this file)")

        return resolve


def _line_of(lines: list[str], needle: str) -> int:
    """0-based index of the first line containing needle (0 when not found)."""
    for index, line in enumerate(lines):
        if needle in line:
            return index
    return 0


# Which loader reads which file in a module folder. Later issues register quiz parsers here.
ITEM_FILE_LOADERS: dict[str, Callable[..., _PendingItem | None]] = {
    ".md": _CourseLoader.load_markdown_item,
    ".gift": _CourseLoader.load_quiz_item,
}
