"""Course folders on disk, as the admin pages see them: which are synced, a preview of what a sync
would change, and the sync itself.

The folders are the direct sub-folders of the configured courses root (``LMS_COURSES_DIR``, the
folder ``flask courses sync`` reads). A folder name from a URL is only ever used after it was
found among them, so ``../``, absolute paths and symbolic links (to anywhere) name nothing.

The preview runs the real sync (``lms.catalog.services.sync_courses``, with every subscriber to its
signals: quizzes, capstones, credentials) inside a SAVEPOINT and rolls it back, so it shows exactly
what the sync would do. Nothing leaves the savepoint: rows (the outbox's jobs included) are rolled
back, and the media files a sync copies go to a temporary folder deleted afterwards. The apply
refuses when the folder's content hash is no longer the one previewed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.admin.services import MAX_ID
from lms.audit import services as audit
from lms.audit.models import AuditEvent
from lms.catalog.freshness import is_overdue
from lms.catalog.models import Course, Item, Module
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.content.specs import CourseSpec
from lms.credentials.models import Achievement, Credential
from lms.enrollments.models import Enrollment
from lms.errors import Conflict, DomainError, NotFound
from lms.jobs.services import PENDING_KEY
from lms.quizzes.models import QuestionVersion

SYNC_ACTION = "course.sync"


class FolderChanged(Conflict):
    pass


# -- the folders -------------------------------------------------------------------------------------

def list_folders(root: Path) -> list[str]:
    """Names of the course folders under ``root``: real folders (never symbolic links), not hidden,
    not ``_pathways`` and the like (names starting with ``_`` are not courses, as for ``load_courses``)."""
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir()
                  if not entry.name.startswith((".", "_")) and not entry.is_symlink() and entry.is_dir())


def folder_path(root: Path, name: str) -> Path:
    """The folder called ``name`` under ``root``, or NotFound: a name is accepted only if it is listed."""
    if name not in list_folders(root):
        raise NotFound("There is no course folder of that name in the courses folder.")
    path = root / name
    if path.resolve().parent != root.resolve():  # (cannot happen for a listed name; checked all the same)
        raise NotFound("There is no course folder of that name in the courses folder.")
    return path


@dataclass(frozen=True)
class FolderLoad:
    """What loading a folder found (the loader's output, without the specs)."""
    slug: str | None
    title: str | None
    content_hash: str | None  # None when it does not load
    problems: tuple[str, ...]  # "path:line: severity: message", as `flask courses check` prints them
    errors: int
    reviewed_on: date | None = None
    review_every_months: int | None = None


def _summarize(result) -> FolderLoad:
    problems = tuple(str(p) for p in result.problems)
    errors = len(result.errors)
    if errors or not result.courses:
        return FolderLoad(None, None, None, problems, max(errors, 1))
    spec: CourseSpec = result.courses[0]
    return FolderLoad(spec.slug, spec.title, spec.content_hash, problems, 0, spec.reviewed_on,
                      spec.review_every_months)


def _fingerprint(folder: Path) -> str:
    """A cheap digest of the folder's tree (names, sizes, modification times, file types): it changes
    whenever a file is edited, added, removed or replaced."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            stat = os.lstat(full)
            digest.update(f"{os.path.relpath(full, folder)}\0{stat.st_mode}\0{stat.st_size}\0"
                          f"{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


# Loading a course renders all of it (about a second for a real course), so the list of folders keeps
# each folder's result per process, keyed by the folder's fingerprint: unchanged folders are not
# loaded again. Previews and syncs always load afresh.
_loads: dict[Path, tuple[str, FolderLoad]] = {}
_loads_lock = threading.Lock()
_LOADS_KEPT = 512


def load_folder_cached(path: Path) -> FolderLoad:
    fingerprint = _fingerprint(path)
    cached = _loads.get(path)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    loaded = _summarize(load_courses(path))
    with _loads_lock:
        if len(_loads) >= _LOADS_KEPT:
            _loads.clear()
        _loads[path] = (fingerprint, loaded)
    return loaded


FOLDER_STATES = {
    "synced": "Synced",
    "changed": "Changed on disk",
    "new": "Not yet synced",
    "errors": "Has errors",
}


@dataclass(frozen=True)
class FolderStatus:
    name: str
    slug: str
    title: str
    state: str  # a key of FOLDER_STATES
    errors: int
    reviewed_on: date | None  # the catalog's, once synced; else what the folder says
    review_every_months: int | None
    overdue: bool
    retired: bool  # in the catalog, retired (a sync brings it back)
    note: str = ""

    @property
    def state_label(self) -> str:
        return FOLDER_STATES[self.state]


@dataclass(frozen=True)
class CatalogOnly:
    """A course in the catalog whose folder is not under the courses root."""
    slug: str
    title: str
    retired: bool


@dataclass(frozen=True)
class FolderList:
    folders: tuple[FolderStatus, ...]
    not_on_disk: tuple[CatalogOnly, ...]
    root_exists: bool


def folder_statuses(db: Session, root: Path, today: date) -> FolderList:
    """Every course folder with its state against the catalog (one statement for all courses)."""
    names = list_folders(root)
    loads = {name: load_folder_cached(root / name) for name in names}
    courses = {row.slug: row for row in db.execute(
        select(Course.slug, Course.title, Course.content_hash, Course.retired_at, Course.reviewed_on,
               Course.review_every_months))}
    slug_folders: dict[str, list[str]] = {}
    for name, loaded in loads.items():
        slug_folders.setdefault(loaded.slug or name, []).append(name)
    folders = []
    for name in names:
        loaded = loads[name]
        slug = loaded.slug or name
        course = courses.get(slug)
        note = ""
        if loaded.content_hash is None:
            state = "errors"
        elif len(slug_folders[slug]) > 1:
            state, note = "errors", f"the slug {slug} is also used by " + ", ".join(
                n for n in slug_folders[slug] if n != name)
        elif course is None:
            state = "new"
        elif course.content_hash == loaded.content_hash and course.retired_at is None:
            state = "synced"
        else:
            state = "changed"
        reviewed_on = course.reviewed_on if course is not None else loaded.reviewed_on
        every = course.review_every_months if course is not None else loaded.review_every_months
        folders.append(FolderStatus(name, slug, (course.title if course is not None else loaded.title) or name,
                                    state, loaded.errors, reviewed_on, every, is_overdue(reviewed_on, every, today),
                                    course is not None and course.retired_at is not None, note))
    on_disk = set(slug_folders)
    missing = tuple(CatalogOnly(slug, row.title, row.retired_at is not None)
                    for slug, row in sorted(courses.items()) if slug not in on_disk)
    return FolderList(tuple(folders), missing, root.is_dir())


# -- what a sync changes -------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuizChanges:
    quiz: str  # "module-slug/quiz-slug"
    added: tuple[str, ...] = ()  # question keys
    changed: tuple[str, ...] = ()  # a new version of the question
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncSummary:
    """What one course folder's sync changes (or changed), as the preview and the result show it.

    Stored as the data of the sync's audit event, so the result page after the redirect (and any
    later reader of the audit log) shows the same summary. It holds slugs and counts, no personal data.
    """
    folder: str
    slug: str
    title: str
    status: str  # "created", "updated", "unchanged"
    content_hash: str
    modules_added: tuple[str, ...] = ()
    modules_changed: tuple[str, ...] = ()
    modules_retired: tuple[str, ...] = ()
    items_added: tuple[str, ...] = ()
    items_changed: tuple[str, ...] = ()
    items_retired: tuple[str, ...] = ()
    quizzes: tuple[QuizChanges, ...] = field(default=())
    credential: str | None = None  # what happens to the credential's definition: "added", "changed", "retired"
    credential_detail: str = ""  # e.g. "credential (version 3)"
    credentials_held: int = 0  # current credentials of the course, which keep the version they were issued under
    enrolled: int = 0  # learners enrolled in the course

    @property
    def unchanged(self) -> bool:
        return self.status == "unchanged"

    @property
    def questions_changed(self) -> int:
        return sum(len(q.added) + len(q.changed) + len(q.removed) for q in self.quizzes)

    def to_data(self) -> dict:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict) -> SyncSummary:
        values = dict(data)
        values["quizzes"] = tuple(QuizChanges(q["quiz"], tuple(q["added"]), tuple(q["changed"]), tuple(q["removed"]))
                                  for q in values.get("quizzes", ()))
        for key, value in values.items():
            if isinstance(value, list):
                values[key] = tuple(value)
        return cls(**{k: v for k, v in values.items() if k in cls.__dataclass_fields__})


def _live_questions(db: Session, slug: str, *, live_items_only: bool) -> dict[int, tuple[str, dict[str, int]]]:
    """Per quiz item of the course: its "module/quiz" label and its live questions (key -> version row id)."""
    stmt = (select(Item.id, Module.slug, Item.slug, QuestionVersion.key, QuestionVersion.id)
            .join(Item, Item.id == QuestionVersion.quiz_item_id)
            .join(Course, Course.id == Item.course_id)
            .outerjoin(Module, Module.id == Item.module_id)
            .where(Course.slug == slug, QuestionVersion.retired_at.is_(None)))
    if live_items_only:
        stmt = stmt.where(Item.retired_at.is_(None))
    found: dict[int, tuple[str, dict[str, int]]] = {}
    for item_id, module_slug, item_slug, key, version_id in db.execute(stmt):
        label = f"{module_slug}/{item_slug}" if module_slug else item_slug
        found.setdefault(item_id, (label, {}))[1][key] = version_id
    return found


def _question_changes(before: dict, after: dict) -> tuple[QuizChanges, ...]:
    changes = []
    for item_id, (label, now) in sorted(after.items(), key=lambda entry: entry[1][0]):
        was = before.get(item_id, ("", {}))[1]
        added = tuple(sorted(k for k in now if k not in was))
        changed = tuple(sorted(k for k in now if k in was and now[k] != was[k]))
        removed = tuple(sorted(k for k in was if k not in now))
        if added or changed or removed:
            changes.append(QuizChanges(label, added, changed, removed))
    return tuple(changes)


def _run_sync(db: Session, folder: str, spec: CourseSpec, media_dir: Path) -> SyncSummary:
    """Sync one course in the caller's transaction and describe what changed."""
    held, enrolled = db.execute(select(
        select(func.count()).select_from(Credential).join(Achievement, Achievement.id == Credential.achievement_id)
        .join(Course, Course.id == Achievement.course_id)
        .where(Course.slug == spec.slug, Credential.revoked_at.is_(None), Credential.superseded_at.is_(None))
        .scalar_subquery(),
        select(func.count()).select_from(Enrollment).join(Course, Course.id == Enrollment.course_id)
        .where(Course.slug == spec.slug).scalar_subquery(),
    )).one()
    before = _live_questions(db, spec.slug, live_items_only=False)
    (changes,) = sync_courses(db, [spec], media_dir, retire_missing=False)
    after = _live_questions(db, spec.slug, live_items_only=True)
    lists: dict[str, dict[str, list[str]]] = {"modules": {}, "items": {}}
    credential, credential_detail = None, ""
    for kind, entries in (("added", changes.added), ("changed", changes.changed), ("retired", changes.retired)):
        for entry in entries:
            if entry.startswith("credential"):
                credential, credential_detail = kind, entry
            else:
                group = "modules" if entry.startswith("module ") else "items"
                lists[group].setdefault(kind, []).append(entry.removeprefix("module "))
    def listed(group: str, kind: str) -> tuple[str, ...]:
        return tuple(lists[group].get(kind, ()))

    return SyncSummary(
        folder=folder, slug=spec.slug, title=spec.title, status=changes.status, content_hash=spec.content_hash,
        modules_added=listed("modules", "added"), modules_changed=listed("modules", "changed"),
        modules_retired=listed("modules", "retired"), items_added=listed("items", "added"),
        items_changed=listed("items", "changed"), items_retired=listed("items", "retired"),
        quizzes=_question_changes(before, after), credential=credential, credential_detail=credential_detail,
        credentials_held=held, enrolled=enrolled,
    )


@dataclass(frozen=True)
class Preview:
    folder: str
    problems: tuple[str, ...]  # everything the loader reported (errors, warnings, notices)
    summary: SyncSummary | None  # None when the folder does not load or the sync would fail
    failure: str | None = None  # why the sync would fail although the folder loads
    errors: int = 0


def _duplicate_slug(root: Path, name: str, slug: str) -> str | None:
    """Another folder under the root whose course has the same slug (a sync of one would overwrite the other)."""
    for other in list_folders(root):
        if other != name and (load_folder_cached(root / other).slug or other) == slug:
            return other
    return None


def _load_for_sync(root: Path, name: str):
    path = folder_path(root, name)
    result = load_courses(path)
    problems = tuple(str(p) for p in result.problems)
    if not result.ok or not result.courses:
        return None, problems, max(len(result.errors), 1)
    return result.courses[0], problems, 0


def preview_sync(db: Session, root: Path, name: str) -> Preview:
    """What syncing the folder ``name`` would change, computed by running the sync and rolling it back.

    Writes nothing: the sync runs in a SAVEPOINT that is always rolled back (jobs it queued included),
    with a temporary media folder that is deleted afterwards. The caller's transaction is left as it was.
    """
    spec, problems, errors = _load_for_sync(root, name)
    if spec is None:
        return Preview(name, problems, None, errors=errors)
    other = _duplicate_slug(root, name, spec.slug)
    if other is not None:
        return Preview(name, problems, None, failure=f"The folder {other} has a course with the same slug "
                       f"({spec.slug}): give each course its own slug, then preview again.")
    pending = list(db.info.get(PENDING_KEY, ()))
    savepoint = db.begin_nested()
    try:
        with tempfile.TemporaryDirectory(prefix="skillmark-preview-") as media:
            summary = _run_sync(db, name, spec, Path(media))
    except DomainError as exc:
        return Preview(name, problems, None, failure=exc.message)
    except IntegrityError as exc:
        return Preview(name, problems, None, failure="The database refused the sync: "
                       f"{str(exc.orig).splitlines()[0]}")
    finally:
        savepoint.rollback()
        db.info[PENDING_KEY] = pending
        if not pending:
            db.info.pop(PENDING_KEY)
    return Preview(name, problems, summary)


def apply_sync(db: Session, root: Path, name: str, previewed_hash: str, media_dir: Path,
               actor_id: int) -> tuple[SyncSummary, int]:
    """Sync the folder as previewed (in the caller's transaction) and record it in the audit log.

    Refuses (FolderChanged) when the folder's content is no longer the one whose hash the preview
    showed, or when it does not load any more. Returns the summary and the audit event's id.
    """
    spec, _problems, _errors = _load_for_sync(root, name)
    if spec is None:
        raise FolderChanged("The folder has errors now, so nothing was synced. Preview it again to see them.")
    if not previewed_hash or spec.content_hash != previewed_hash:
        raise FolderChanged("The folder changed since the preview, so nothing was synced. Preview again to see "
                            "what a sync would change now.")
    other = _duplicate_slug(root, name, spec.slug)
    if other is not None:
        raise Conflict(f"The folder {other} has a course with the same slug ({spec.slug}); nothing was synced.")
    try:
        with db.begin_nested():
            summary = _run_sync(db, name, spec, media_dir)
    except IntegrityError:
        raise Conflict("The sync clashed with another change made at the same moment (another sync of this "
                       "course?); nothing was changed. Preview again.") from None
    course_id = db.scalar(select(Course.id).where(Course.slug == spec.slug))
    event = audit.record(db, SYNC_ACTION, "course", course_id, actor_id, **summary.to_data())
    db.flush()
    return summary, event.id


@dataclass(frozen=True)
class SyncRecord:
    summary: SyncSummary
    at: datetime
    actor_id: int | None


def sync_record(db: Session, event_id: int, folder: str) -> SyncRecord:
    """A sync made from the admin pages, read back from its audit event (the page after the redirect)."""
    event = db.get(AuditEvent, event_id) if 0 < event_id <= MAX_ID else None
    if event is None or event.action != SYNC_ACTION or (event.data or {}).get("folder") != folder:
        raise NotFound("There is no record of that sync.")
    return SyncRecord(SyncSummary.from_data(event.data), event.at, event.actor_id)
