"""Learners' progress exports: a course's learners as one CSV file, built by a background job.

A course with tens of thousands of learners cannot be written out inside a request, so the dashboard's
"Export learners' progress (CSV)" only records a ``course_exports`` row and queues the job
``instructor.build_course_export`` in the same transaction (the outbox: a rolled-back request queues
nothing). The job:

- reads the rows with one statement whatever the number of learners (aggregate subqueries for
  progress, quiz best scores, the latest capstone version and the current credential, joined to the
  enrollments), streamed from the database in batches (``yield_per``: a server-side cursor on
  PostgreSQL), so neither the query count nor the memory grows with the course;
- writes every cell through ``services.csv_cell`` (CSV injection) into a temporary file next to the
  target, fsyncs it and renames it into place (``<exports_dir>/course-<id>/export-<id>.csv``), so a
  reader never sees half a file;
- marks the export ready (rows, size, file name) and notifies whoever asked (kind "course_export",
  whose email follows their notification settings) in the job's own transaction.

Retries: an attempt that fails is retried by the job system (``MAX_ATTEMPTS``, backoff from a minute);
every attempt writes the whole file again under the same name, so a retry, or a repeat after a crash,
is harmless. The export becomes "failed", with a readable reason, only on the last attempt (or at once
when retrying cannot help: the course is gone); the handler then records that and ends normally, so
the failure is on the export, where the instructor sees it. A runner that dies during the last attempt
leaves a failed job and a queued export: ``reconcile`` marks such exports failed (on the next request
for the course and in the periodic clean-up).

Retention: the periodic ``instructor.prune_exports`` deletes exports (row and file) older than
``KEEP_FOR`` and any stray file in the exports folder older than that.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, case, delete, distinct, func, literal, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.auth.models import User
from lms.capstones.models import Submission
from lms.catalog.services import Outline
from lms.credentials.models import Achievement, Credential
from lms.db import utcnow
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.instructor.models import CourseExport
from lms.instructor.services import _outline, csv_cell
from lms.instructor.stats import percent
from lms.jobs import enqueue
from lms.jobs.models import Job
from lms.notifications.services import Kind, notify, register_kind
from lms.quizzes.models import QuizAttempt
from lms.uploads.storage import fsync_dir

log = logging.getLogger("lms.instructor")

EXPORT_JOB = "instructor.build_course_export"
EXPORT_KIND = "course_export"
MAX_ATTEMPTS = 3
BACKOFF = timedelta(minutes=1)
KEEP_FOR = timedelta(days=7)
PARTIAL_KEEP = timedelta(days=1)  # a temporary file this old belongs to no running job
BATCH = 1000  # rows fetched per round trip while streaming
LIST_LIMIT = 10  # the dashboard lists this many recent exports
PARTIAL_PREFIX = ".partial-"

register_kind(EXPORT_KIND, Kind("When a CSV export I asked for is ready (or failed)", email_default=True,
                                audience="grader"))


class ExportFailed(Exception):
    """Retrying cannot help: the export fails at once with this reason."""


# -- requesting and listing ---------------------------------------------------------------------------

def reconcile(db: Session, now: datetime, course_id: int | None = None) -> int:
    """Mark failed the queued exports whose job can no longer run it (it failed for good, typically a
    runner that died during the last attempt, or was deleted). Returns how many. One statement."""
    job_alive = select(Job.id).where(Job.id == CourseExport.job_id, Job.failed_at.is_(None))
    job_error = select(Job.last_error).where(Job.id == CourseExport.job_id).scalar_subquery()
    statement = (update(CourseExport)
                 .where(CourseExport.state == "queued", ~job_alive.exists())
                 .values(state="failed", finished_at=now,
                         error=func.coalesce(literal("The job building it gave up: ") + job_error,
                                             literal("The job building it no longer exists.")))
                 .execution_options(synchronize_session=False))
    if course_id is not None:
        statement = statement.where(CourseExport.course_id == course_id)
    return db.execute(statement).rowcount


@dataclass(frozen=True)
class Requested:
    export_id: int
    created: bool  # False: one was queued already, and that one stands


def request_export(db: Session, course_id: int, user_id: int, now: datetime | None = None) -> Requested:
    """Queue an export of the course's learners, in the caller's transaction, unless one is queued
    already (for this course, by anyone). The partial unique index on queued exports decides a race
    between two requests: the second insert fails and its request reports the first one's export."""
    now = now or utcnow()
    reconcile(db, now, course_id)
    queued = select(CourseExport.id).where(CourseExport.course_id == course_id, CourseExport.state == "queued")
    existing = db.scalar(queued)
    if existing is not None:
        return Requested(existing, False)
    try:
        with db.begin_nested():
            export = CourseExport(course_id=course_id, requested_by_id=user_id, requested_at=now, state="queued")
            db.add(export)
            db.flush()  # the unique index on queued exports speaks here
            job = enqueue(db, EXPORT_JOB, {"export_id": export.id})
            db.flush()
            export.job_id = job.id
    except IntegrityError:
        return Requested(db.scalar(queued), False)
    audit.record(db, "instructor.export_requested", "course", course_id, user_id, export_id=export.id)
    return Requested(export.id, True)


@dataclass(frozen=True)
class ExportView:
    """One export as the dashboard lists it, with its job's progress while it is queued."""

    id: int
    requested_by: str | None
    requested_at: datetime
    state: str
    finished_at: datetime | None
    row_count: int | None
    size_bytes: int | None
    error: str | None
    running: bool  # a runner holds its job right now
    last_error: str | None  # of a failed attempt that will be retried
    attempts: int
    job_gave_up: bool = False  # queued, but its job failed for good or is gone (``reconcile`` will say failed)

    @property
    def status(self) -> str:
        """The state in words (the list shows this text, never a colour alone)."""
        if self.state == "ready":
            return "Ready"
        if self.state == "failed" or self.job_gave_up:
            return "Failed"
        if self.running:
            return "Being built"
        if self.last_error:
            return "Retrying after an error"
        return "Queued"

    @property
    def size(self) -> str:
        if self.size_bytes is None:
            return ""
        if self.size_bytes < 1024:
            return f"{self.size_bytes} bytes"
        if self.size_bytes < 1024 * 1024:
            return f"{self.size_bytes / 1024:.1f} KB"
        return f"{self.size_bytes / 1024 / 1024:.1f} MB"


def recent_exports(db: Session, course_id: int, now: datetime | None = None,
                   limit: int = LIST_LIMIT) -> list[ExportView]:
    """The course's latest exports, newest first, with who asked and their job's state. One statement."""
    now = now or utcnow()
    rows = db.execute(
        select(CourseExport.id, User.name, CourseExport.requested_at, CourseExport.state, CourseExport.finished_at,
               CourseExport.row_count, CourseExport.size_bytes, CourseExport.error, Job.claimed_until,
               Job.last_error, Job.attempts, Job.id, Job.failed_at)
        .outerjoin(User, User.id == CourseExport.requested_by_id)
        .outerjoin(Job, Job.id == CourseExport.job_id)
        .where(CourseExport.course_id == course_id)
        .order_by(CourseExport.requested_at.desc(), CourseExport.id.desc()).limit(limit)).all()
    views = []
    for r in rows:
        queued = r[3] == "queued"
        gave_up = queued and (r[11] is None or r[12] is not None)
        error = r[7] if not gave_up else (f"The job building it gave up: {r[9]}" if r[9] else
                                          "The job building it no longer exists.")
        views.append(ExportView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], error,
                                queued and not gave_up and r[8] is not None and r[8] > now,
                                r[9] if queued and not gave_up else None, r[10] or 0, gave_up))
    return views


def get_export(db: Session, course_id: int, export_id: int) -> CourseExport | None:
    """The export if it belongs to this course (another course's id reads as missing)."""
    return db.scalar(select(CourseExport).where(CourseExport.id == export_id, CourseExport.course_id == course_id))


def file_path(exports_dir: Path, file_name: str) -> Path | None:
    """Where a stored file name lives; None for a name that would leave the exports folder."""
    root = exports_dir.resolve()
    path = (root / file_name).resolve()
    return path if path.is_relative_to(root) and path != root else None


def download_name(course_slug: str, export: CourseExport) -> str:
    return f"{course_slug}-learners-{export.finished_at:%Y-%m-%d}-{export.id}.csv"


def export_path(course_id: int, export_id: int) -> str:
    """The file name of an export, relative to the exports folder: the same on every attempt."""
    return f"course-{course_id}/export-{export_id}.csv"


def download_link(course_slug: str, export_id: int) -> str:
    return f"/teach/{course_slug}/exports/{export_id}.csv"


# -- the CSV --------------------------------------------------------------------------------------------

def _stamp(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _best(value) -> float | None:
    return None if value is None else round(float(value) * 100, 1)


def header(outline: Outline) -> list[str]:
    quizzes = [f"quiz {q.number} best % ({q.title})" for q in outline.module_quizzes]
    return (["name", "email", "enrolled_at", "track", "steps_done", "steps_total", "progress_percent",
             "completed_at", "last_active", "module_quizzes_passed"] + quizzes
            + ["capstone_state", "capstone_version", "capstone_submitted_at", "credential_status",
               "credential_issued_at", "credential_expires_at", "credential_revoked_at"])


def _statement(outline: Outline):
    """Every enrollment of the course with its figures: one statement, joined aggregate subqueries."""
    course_id = outline.course_id
    progress = (select(ItemCompletion.enrollment_id.label("eid"), func.count().label("done"),
                       func.max(ItemCompletion.completed_at).label("last_done"))
                .where(ItemCompletion.item_id.in_(sorted(outline.step_ids)))
                .group_by(ItemCompletion.enrollment_id).subquery("progress"))
    quizzes = outline.module_quizzes
    scored = and_(QuizAttempt.state == "submitted", QuizAttempt.points_possible > 0, QuizAttempt.pending == 0,
                  QuizAttempt.points_earned.is_not(None))
    best = (select(QuizAttempt.enrollment_id.label("eid"),
                   func.count(distinct(case((QuizAttempt.passed.is_(True), QuizAttempt.quiz_item_id)))).label("passed"),
                   *[func.max(case((QuizAttempt.quiz_item_id == q.id, QuizAttempt.points_earned
                                    / QuizAttempt.points_possible))).label(f"q{n}") for n, q in enumerate(quizzes)])
            .where(QuizAttempt.quiz_item_id.in_([q.id for q in quizzes]), scored)
            .group_by(QuizAttempt.enrollment_id).subquery("best"))
    capstone_id = outline.capstone.id if outline.capstone is not None else -1
    versions = (select(Submission.enrollment_id.label("eid"), Submission.state, Submission.version,
                       Submission.submitted_at,
                       func.row_number().over(partition_by=Submission.enrollment_id,
                                              order_by=Submission.version.desc()).label("rn"))
                .where(Submission.item_id == capstone_id).subquery("capstone"))
    achievement = select(Achievement.id).where(Achievement.course_id == course_id).scalar_subquery()
    credentials = (select(Credential.user_id.label("uid"), Credential.issued_at, Credential.valid_until,
                          Credential.revoked_at,
                          func.row_number().over(partition_by=Credential.user_id,
                                                 order_by=(Credential.issued_at.desc(), Credential.id.desc()))
                          .label("rn"))
                   .where(Credential.achievement_id == achievement, Credential.superseded_at.is_(None))
                   .subquery("credential"))
    return (select(User.name, User.email, Enrollment.enrolled_at, Enrollment.track,
                   func.coalesce(progress.c.done, 0), progress.c.last_done, Enrollment.last_activity_at,
                   func.coalesce(best.c.passed, 0), *[best.c[f"q{n}"] for n in range(len(quizzes))],
                   versions.c.state, versions.c.version, versions.c.submitted_at,
                   credentials.c.issued_at, credentials.c.valid_until, credentials.c.revoked_at)
            .join(User, User.id == Enrollment.user_id)
            .outerjoin(progress, progress.c.eid == Enrollment.id)
            .outerjoin(best, best.c.eid == Enrollment.id)
            .outerjoin(versions, and_(versions.c.eid == Enrollment.id, versions.c.rn == 1))
            .outerjoin(credentials, and_(credentials.c.uid == Enrollment.user_id, credentials.c.rn == 1))
            .where(Enrollment.course_id == course_id, User.deleted_at.is_(None))
            .order_by(Enrollment.id))


def _credential_status(issued_at, valid_until, revoked_at, now: datetime) -> str | None:
    if issued_at is None:
        return None
    if revoked_at is not None:
        return "revoked"
    if valid_until is not None and valid_until <= now:
        return "expired"
    return "valid"


def rows(db: Session, outline: Outline, now: datetime):
    """The CSV's rows (plain values; ``csv_cell`` quotes them), streamed in batches of BATCH."""
    total = len(outline.steps)
    quizzes = len(outline.module_quizzes)
    for row in db.execute(_statement(outline).execution_options(yield_per=BATCH)):
        name, email, enrolled_at, track, done, last_done, last_active, passed = row[:8]
        best = row[8:8 + quizzes]
        state, version, submitted_at, issued_at, valid_until, revoked_at = row[8 + quizzes:]
        yield ([name, email, _stamp(enrolled_at), track, done, total, percent(done, total),
                _stamp(last_done) if total and done >= total else None, _stamp(last_active), passed]
               + [_best(value) for value in best]
               + [state, version, _stamp(submitted_at), _credential_status(issued_at, valid_until, revoked_at, now),
                  _stamp(issued_at), _stamp(valid_until), _stamp(revoked_at)])


@dataclass(frozen=True)
class Written:
    file_name: str
    rows: int
    size: int


def write_file(db: Session, outline: Outline, exports_dir: Path, export_id: int, now: datetime) -> Written:
    """Write the course's CSV to a temporary file beside its target, fsync it, rename it into place."""
    name = export_path(outline.course_id, export_id)
    target = exports_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=PARTIAL_PREFIX, suffix=".csv", dir=target.parent)
    temp = Path(temp_name)
    try:
        count = 0
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow([csv_cell(cell) for cell in header(outline)])
            for row in rows(db, outline, now):
                writer.writerow([csv_cell(cell) for cell in row])
                count += 1
            out.flush()
            os.fsync(out.fileno())
        size = temp.stat().st_size
        os.replace(temp, target)  # atomic: the name appears only with the whole file behind it
        fsync_dir(target.parent)
        return Written(name, count, size)
    finally:
        temp.unlink(missing_ok=True)


# -- the job -----------------------------------------------------------------------------------------------

def reason(exc: BaseException) -> str:
    """What went wrong, in words an instructor can pass on to whoever runs the site."""
    if isinstance(exc, ExportFailed):
        return str(exc)
    if isinstance(exc, OSError):
        return (f"The file could not be written to the exports folder ({exc.strerror or exc}). "
                "Whoever runs the site should check that folder's space and permissions.")
    if isinstance(exc, OperationalError):
        return "The database could not be read in time (it may have been busy or unreachable)."
    if isinstance(exc, SQLAlchemyError):
        return f"Reading the learners failed ({type(exc).__name__})."
    return f"An unexpected error: {type(exc).__name__}: {exc}"[:500]


def _finish(db: Session, export_id: int, values: dict) -> bool:
    result = db.execute(update(CourseExport).where(CourseExport.id == export_id, CourseExport.state == "queued")
                        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def run_export(db: Session, exports_dir: Path, export_id: int, now: datetime, *, last_attempt: bool) -> str:
    """The job's work for one export, in the job's transaction. Returns what happened ("ready",
    "failed", or "skipped" for an export that is gone or finished already: a repeat does nothing).
    Raises to have the job retried, unless this is the last attempt."""
    export = db.execute(select(CourseExport.course_id, CourseExport.requested_by_id, CourseExport.state)
                        .where(CourseExport.id == export_id)).first()
    if export is None or export.state != "queued":
        return "skipped"
    course_id, requester, _ = export
    outline = None
    try:
        outline = _outline(db, course_id)
        if outline is None:
            raise ExportFailed("The course was retired or removed before its export was built.")
        written = write_file(db, outline, exports_dir, export_id, now)
    except Exception as exc:
        if not last_attempt and not isinstance(exc, ExportFailed):
            raise
        db.rollback()  # whatever the failed read left, the failure is recorded in a clean transaction
        text = reason(exc)
        log.error("course export %s of course %s failed for good: %s", export_id, course_id, text)
        if _finish(db, export_id, {"state": "failed", "finished_at": now, "error": text}) and requester is not None:
            title = outline.course_title if outline is not None else "a course"
            notify(db, requester, EXPORT_KIND, f"Your learners' export of {title} failed",
                   f"The export could not be built: {text}\n\nYou can request it again from the course dashboard.",
                   f"/teach/{outline.course_slug}#exports" if outline is not None else "/teach")
        return "failed"
    if not _finish(db, export_id, {"state": "ready", "finished_at": now, "row_count": written.rows,
                                   "size_bytes": written.size, "file_name": written.file_name}):
        return "skipped"
    if requester is not None:
        notify(db, requester, EXPORT_KIND, f"Your learners' export of {outline.course_title} is ready",
               f"The CSV of {written.rows:,} learners' progress in {outline.course_title} is ready to download "
               f"for {KEEP_FOR.days} days.", download_link(outline.course_slug, export_id))
    return "ready"


# -- retention --------------------------------------------------------------------------------------------

def prune(db: Session, exports_dir: Path, now: datetime) -> tuple[int, int]:
    """Delete exports older than KEEP_FOR (rows and files), stray files older than that and temporary
    files older than PARTIAL_KEEP; mark failed the queued exports whose job gave up. In the caller's
    transaction: a file is removed before its row's deletion commits, so a failed commit leaves rows
    whose download says the file is gone, and the next run deletes them. Returns (rows, files)."""
    reconcile(db, now)
    cutoff = now - KEEP_FOR
    names = list(db.scalars(delete(CourseExport).where(CourseExport.requested_at < cutoff)
                            .returning(CourseExport.file_name).execution_options(synchronize_session=False)))
    files = 0
    for name in names:
        path = file_path(exports_dir, name) if name else None
        if path is not None and path.is_file():
            path.unlink(missing_ok=True)
            files += 1
    if exports_dir.is_dir():
        for path in exports_dir.glob("course-*/*"):
            if not path.is_file():
                continue
            limit = PARTIAL_KEEP if path.name.startswith(PARTIAL_PREFIX) else KEEP_FOR
            if path.stat().st_mtime < (now - limit).timestamp():
                path.unlink(missing_ok=True)
                files += 1
    return len(names), files

