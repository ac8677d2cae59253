"""Capstone submissions and their grading: the domain, free of HTTP.

A learner's capstone is a series of versions (``Submission`` rows). Version 1 starts as a draft;
submitting puts it in the grader queue; a grader claims it (a conditional UPDATE, so two graders
never hold the same version), grades it against the rubric version the learner submitted to, and
the outcome decides what follows: a pass completes the capstone, "needs revision" lets the learner
start version n+1 (a copy of version n, so nothing is typed twice), "not passed" ends it.

Every state change is a conditional UPDATE whose row count decides races, and is recorded in the
append-only audit log in the same transaction. Views commit once.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, NamedTuple
from urllib.parse import urlsplit

from blinker import Namespace
from sqlalchemy import Integer, and_, bindparam, func, or_, select, true, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from lms.audit import services as audit
from lms.auth.models import CourseRole, User
from lms.capstones.checks import run_checks
from lms.capstones.models import (
    OPEN_STATES,
    CapstoneVersion,
    Review,
    Submission,
    SubmissionFile,
    is_waiting,
)
from lms.capstones.rubric import evaluate, suggested_outcome
from lms.catalog.models import Course, Item
from lms.content.capstone import Capstone
from lms.db import utcnow
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment
from lms.errors import Conflict, DomainError, Forbidden, NotFound
from lms.markup import render_markdown
from lms.uploads.storage import FileTooLarge, sanitize_filename

signals = Namespace()
# Sent inside the grading transaction; progress and credentials subscribe.
capstone_graded = signals.signal("capstone-graded")
# Sent when a version enters the grader queue (notifications subscribe).
capstone_submitted = signals.signal("capstone-submitted")

CLAIM_DURATION = timedelta(minutes=60)
MAX_TEXT_CHARS = 100_000
MAX_LINK_CHARS = 2000
MAX_COMMENT_CHARS = 20_000
QUEUE_PAGE_SIZE = 25
ROUND_ENDS = ("passed", "not_passed")  # a decided version ends a round; start_over begins the next


# -- errors -----------------------------------------------------------------------------------------

class CapstoneError(DomainError):
    pass


class NotEditable(Conflict):
    pass


class NotReady(CapstoneError):
    """The submission lacks what the capstone asks for."""

    def __init__(self, problems: list[str]):
        super().__init__("Before you submit: " + " ".join(problems))
        self.problems = problems


class BadLink(CapstoneError):
    pass


class ClaimTaken(Conflict):
    pass


class NotClaimed(Conflict):
    pass


class AlreadyGraded(Conflict):
    pass


class GradingInvalid(CapstoneError):
    pass


class OwnSubmission(Forbidden):
    pass


# -- the capstone's definition ------------------------------------------------------------------------

@dataclass(frozen=True)
class CapstoneRecord:
    """A capstone item and the live version of its definition."""

    item_id: int
    course_id: int
    title: str
    version_id: int
    capstone: Capstone


# Versions never change once written, so each process keeps the parsed ones it has used.
_versions: dict[int, Capstone] = {}


def capstone_version(db: Session, version_id: int) -> Capstone:
    cached = _versions.get(version_id)
    if cached is None:
        spec = db.scalar(select(CapstoneVersion.spec).where(CapstoneVersion.id == version_id))
        if spec is None:
            raise NotFound("That version of the capstone does not exist.")
        cached = _versions[version_id] = Capstone.from_json(spec)
    return cached


def live_capstone(db: Session, course_id: int) -> CapstoneRecord:
    """The course's capstone and its current definition (404 when the course has none)."""
    row = db.execute(
        select(Item.id, Item.title, CapstoneVersion.id)
        .join(CapstoneVersion, and_(CapstoneVersion.item_id == Item.id, CapstoneVersion.retired_at.is_(None)))
        .where(Item.course_id == course_id, Item.kind == "capstone", Item.retired_at.is_(None))
    ).first()
    if row is None:
        raise NotFound("This course has no capstone project.")
    return CapstoneRecord(row[0], course_id, row[1], row[2], capstone_version(db, row[2]))


# -- a learner's versions ------------------------------------------------------------------------------

@dataclass
class VersionView:
    """One version with its files and review, as the learner's and the grader's pages show it."""

    submission: Submission
    files: list[SubmissionFile] = field(default_factory=list)
    review: Review | None = None


def versions_of(db: Session, enrollment_id: int, item_id: int) -> list[VersionView]:
    """Every version of a learner's capstone, oldest first, with files and reviews (3 statements)."""
    submissions = db.scalars(select(Submission).where(Submission.enrollment_id == enrollment_id,
                                                      Submission.item_id == item_id)
                             .order_by(Submission.version)).all()
    return _with_files_and_reviews(db, submissions)


def _with_files_and_reviews(db: Session, submissions) -> list[VersionView]:
    views = {s.id: VersionView(s) for s in submissions}
    if views:
        for file in db.scalars(select(SubmissionFile).where(SubmissionFile.submission_id.in_(views))
                               .order_by(SubmissionFile.id)):
            views[file.submission_id].files.append(file)
        for review in db.scalars(select(Review).where(Review.submission_id.in_(views))):
            views[review.submission_id].review = review
    return list(views.values())


def _open_version(versions: list[VersionView]) -> Submission | None:
    latest = versions[-1].submission if versions else None
    return latest if latest is not None and latest.state in OPEN_STATES else None


def _new_draft(db: Session, enrollment_id: int, record: CapstoneRecord, version: int, now: datetime,
               copy_of: VersionView | None = None) -> Submission:
    draft = Submission(enrollment_id=enrollment_id, item_id=record.item_id, course_id=record.course_id,
                       version=version, state="draft", capstone_version_id=record.version_id,
                       created_at=now, updated_at=now)
    if copy_of is not None:
        previous = copy_of.submission
        draft.text, draft.text_html, draft.links = previous.text, previous.text_html, list(previous.links)
    try:
        with db.begin_nested():
            db.add(draft)
            db.flush()
            for file in copy_of.files if copy_of else ():
                db.add(SubmissionFile(submission_id=draft.id, sha256=file.sha256, name=file.name,
                                      extension=file.extension, media_type=file.media_type, size=file.size,
                                      created_at=now))
            db.flush()
    except IntegrityError:  # the same click in two tabs: the other request made the draft
        existing = db.scalar(select(Submission).where(Submission.enrollment_id == enrollment_id,
                                                      Submission.item_id == record.item_id,
                                                      Submission.state.in_(OPEN_STATES)))
        if existing is None:
            raise
        return existing
    audit.record(db, "capstone.draft_started", "submission", draft.id, _learner_id(db, enrollment_id),
                 version=version, to_state="draft")
    return draft


def _learner_id(db: Session, enrollment_id: int) -> int:
    return db.scalar(select(Enrollment.user_id).where(Enrollment.id == enrollment_id))


def editable_draft(db: Session, enrollment_id: int, record: CapstoneRecord, now: datetime | None = None) -> Submission:
    """The learner's draft, started on first use. Refused once submitted or decided."""
    now = now or utcnow()
    versions = versions_of(db, enrollment_id, record.item_id)
    current = _open_version(versions)
    if current is None:
        if versions:
            latest = versions[-1].submission
            if latest.state == "needs_revision":
                raise NotEditable("Your reviewer asked for a revision: choose “Start revision” to work on a new "
                                  "version (your previous version and its feedback are kept).")
            raise NotEditable("This capstone has been graded; it can no longer be changed.")
        return _new_draft(db, enrollment_id, record, 1, now)
    if current.state != "draft":
        raise NotEditable("This version is submitted and waiting for a grader; it can no longer be changed.")
    return current


def clean_links(raw: Iterable[str], record: CapstoneRecord) -> list[str]:
    """Links as given (trimmed), http or https only. The server never fetches them."""
    links = [link.strip() for link in raw if link and link.strip()]
    rule = record.capstone.deliverables.links
    if links and rule is None:
        raise BadLink("This capstone does not take links; put everything in your write-up or files.")
    for link in links:
        parts = urlsplit(link)
        if len(link) > MAX_LINK_CHARS:
            raise BadLink(f"A link is {len(link)} characters long; links may be {MAX_LINK_CHARS} at most.")
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
            raise BadLink(f"“{link[:80]}” is not a web address: links must start with https:// (or http://), "
                          "e.g. https://github.com/you/project.")
    if rule is not None and len(links) > rule.max:
        raise BadLink(f"You gave {len(links)} links; this capstone takes {rule.max} at most.")
    if len(set(links)) != len(links):
        raise BadLink("The same link is given twice; remove the repeat.")
    return links


def save_draft(db: Session, enrollment_id: int, record: CapstoneRecord, text: str, links: Iterable[str],
               now: datetime | None = None) -> Submission:
    """Save the write-up and links of the learner's draft (the first save starts it)."""
    now = now or utcnow()
    text = (text or "").replace("\r\n", "\n")
    if len(text) > MAX_TEXT_CHARS:
        raise CapstoneError(f"Your write-up is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}. "
                            "Move long material into a file.")
    if text.strip() and record.capstone.deliverables.text == "none":
        raise CapstoneError("This capstone takes no write-up; attach files or links instead.")
    cleaned = clean_links(links, record)
    draft = editable_draft(db, enrollment_id, record, now)
    if draft.text != text:
        draft.text, draft.text_html = text, render_markdown(text, embedded=True).html if text.strip() else ""
    draft.links, draft.updated_at = cleaned, now
    return draft


def add_file(db: Session, store, enrollment_id: int, record: CapstoneRecord, stream: BinaryIO, filename: str,
             now: datetime | None = None) -> SubmissionFile:
    """Attach an uploaded file to the draft. The file is on disk (content-addressed, written
    atomically) before its row exists, so no row ever points at a missing or partial file."""
    now = now or utcnow()
    rule = record.capstone.deliverables.files
    if rule is None:
        raise CapstoneError("This capstone does not take files; use the write-up or links.")
    draft = editable_draft(db, enrollment_id, record, now)
    existing = db.scalars(select(SubmissionFile).where(SubmissionFile.submission_id == draft.id)).all()
    if len(existing) >= rule.max:
        raise CapstoneError(f"This capstone takes {rule.max} file{'s' if rule.max != 1 else ''} at most; "
                            "remove one before adding another.")
    name = sanitize_filename(filename)
    if any(f.name == name for f in existing):
        raise CapstoneError(f"A file named “{name}” is already attached. Remove it first, or rename your file.")
    used = sum(f.size for f in existing)
    remaining = rule.max_total_bytes - used
    if remaining <= 0:
        raise CapstoneError(f"Your files already use the {_mb(rule.max_total_bytes)} this capstone allows; "
                            "remove a file to make room.")
    limit = min(rule.max_file_bytes, remaining)
    try:
        stored = store.save(stream, filename, allowed=rule.types, max_bytes=limit)
    except FileTooLarge:
        if limit < rule.max_file_bytes:
            raise CapstoneError(f"That file does not fit: your files may total {_mb(rule.max_total_bytes)} and "
                                f"{_mb(remaining)} is left. Nothing was saved; remove a file or upload a smaller "
                                "one.") from None
        raise
    row = SubmissionFile(submission_id=draft.id, sha256=stored.sha256, name=stored.name,
                         extension=stored.extension, media_type=stored.media_type, size=stored.size, created_at=now)
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise CapstoneError(f"A file named “{stored.name}” is already attached.") from None
    draft.updated_at = now
    return row


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.3g} MB"


def remove_file(db: Session, enrollment_id: int, record: CapstoneRecord, file_id: int,
                now: datetime | None = None) -> None:
    draft = editable_draft(db, enrollment_id, record, now)
    file = db.scalar(select(SubmissionFile).where(SubmissionFile.id == file_id,
                                                  SubmissionFile.submission_id == draft.id))
    if file is None:
        raise NotFound("That file is not attached to your draft.")
    db.delete(file)
    draft.updated_at = now or utcnow()


def readiness(record: CapstoneRecord, text: str, links: list[str], files: list[SubmissionFile]) -> list[str]:
    """What the submission still lacks (empty when it can be submitted)."""
    wanted = record.capstone.deliverables
    problems = []
    if wanted.text == "required" and not text.strip():
        problems.append("Write your write-up.")
    if wanted.links is not None and len(links) < wanted.links.min:
        problems.append(f"Add at least {wanted.links.min} link{'s' if wanted.links.min != 1 else ''}.")
    if wanted.files is not None and len(files) < wanted.files.min:
        problems.append(f"Attach at least {wanted.files.min} file{'s' if wanted.files.min != 1 else ''}.")
    if not text.strip() and not links and not files:
        problems.append("The submission is empty.")
    return problems


def submit(db: Session, enrollment_id: int, record: CapstoneRecord, now: datetime | None = None) -> Submission:
    """Submit the draft for grading. A second submit (double click, two tabs) changes nothing."""
    now = now or utcnow()
    if db.scalar(select(Enrollment.track).where(Enrollment.id == enrollment_id)) == "audit":
        raise NotReady(["Capstones are graded on the credential track. Switch to it on the course page (your "
                        "draft and progress are kept), then submit."])
    versions = versions_of(db, enrollment_id, record.item_id)
    current = _open_version(versions)
    if current is None:
        if versions and versions[-1].submission.state != "draft":
            return versions[-1].submission  # already submitted and graded: answer with what happened
        raise NotReady(["Save your work first."])
    if current.state != "draft":
        return current
    files = versions[-1].files
    problems = readiness(record, current.text, current.links, files)
    if problems:
        raise NotReady(problems)
    results = run_checks(record.capstone.checks, current.text, current.links,
                         [(f.name, f.extension) for f in files])
    checks = [{"type": r.type, "label": r.label, "passed": r.passed, "found": r.found} for r in results]
    changed = db.execute(
        update(Submission).where(Submission.id == current.id, Submission.state == "draft")
        .values(state="submitted", submitted_at=now, updated_at=now, capstone_version_id=record.version_id,
                checks=checks).execution_options(synchronize_session=False)
    ).rowcount
    db.refresh(current)
    if changed:
        audit.record(db, "capstone.submitted", "submission", current.id, _learner_id(db, enrollment_id),
                     version=current.version, from_state="draft", to_state="submitted")
        capstone_submitted.send(db, submission=current, course_id=record.course_id)
    return current


def start_revision(db: Session, enrollment_id: int, record: CapstoneRecord, now: datetime | None = None) -> Submission:
    """After "needs revision": a new draft version, a copy of the last one (files included)."""
    now = now or utcnow()
    versions = versions_of(db, enrollment_id, record.item_id)
    current = _open_version(versions)
    if current is not None:
        return current  # already revising (or a repeated click)
    if not versions or versions[-1].submission.state != "needs_revision":
        raise NotEditable("A new version can only be started when the reviewer asked for a revision.")
    return _new_draft(db, enrollment_id, record, versions[-1].submission.version + 1, now, copy_of=versions[-1])


def start_over(db: Session, enrollment_id: int, record: CapstoneRecord, now: datetime | None = None) -> Submission:
    """After a decided version (passed or not passed): a new, empty draft, graded like a first hand-in
    (a new round, with the capstone's full allowance of revisions; see ``revision_number``).

    Only for a caller that has decided the learner is to be assessed again: credentials, renewing an
    expiring credential by capstone (lms/credentials/renewal.py). Capstones know nothing of
    credentials (dependencies point the other way), so that decision is the caller's; here only the
    versions' states are checked. Empty rather than a copy: a renewal assesses the learner's work now.
    """
    now = now or utcnow()
    versions = versions_of(db, enrollment_id, record.item_id)
    current = _open_version(versions)
    if current is not None:
        return current  # already started (or a repeated click)
    if not versions:
        # (a holder who never handed it in: a credential awarded by hand, then renewed by capstone)
        return _new_draft(db, enrollment_id, record, 1, now)
    if versions[-1].submission.state not in ROUND_ENDS:
        raise NotEditable("The capstone can only be started again once its last version was decided.")
    return _new_draft(db, enrollment_id, record, versions[-1].submission.version + 1, now)


def revision_number(versions: Iterable[Submission], submission: Submission) -> int:
    """Which hand-in of its round a version is: 1 for the first, 2 for the first revision, and so on.

    ``versions`` are the learner's versions of the capstone (any that come before ``submission`` count).
    The first round starts at version 1; ``start_over`` starts another after a decided version.
    """
    start = max((v.version for v in versions if v.version < submission.version and v.state in ROUND_ENDS),
                default=0)
    return submission.version - start



def latest_state_subquery(enrollment_id_column):
    """A column of the state of the enrollment's latest capstone version (of the course's live capstone),
    or NULL: lets the dashboard read it with the enrollment, in the same statement."""
    return (select(Submission.state)
            .join(Item, and_(Item.id == Submission.item_id, Item.kind == "capstone", Item.retired_at.is_(None)))
            .where(Submission.enrollment_id == enrollment_id_column)
            .order_by(Submission.version.desc()).limit(1).scalar_subquery())

# -- sharing ------------------------------------------------------------------------------------------

def share(db: Session, submission: Submission, actor_id: int, now: datetime | None = None) -> str:
    """Make a passed version public at an unguessable URL; returns its token (the same one if shared)."""
    if submission.state != "passed":
        raise NotEditable("Only a passed capstone can be shared.")
    if submission.share_token:
        return submission.share_token
    submission.share_token, submission.shared_at = secrets.token_urlsafe(24), now or utcnow()
    audit.record(db, "capstone.shared", "submission", submission.id, actor_id)
    return submission.share_token


def unshare(db: Session, submission: Submission, actor_id: int) -> None:
    if submission.share_token:
        submission.share_token, submission.shared_at = None, None
        audit.record(db, "capstone.unshared", "submission", submission.id, actor_id)


def shared_submission(db: Session, token: str) -> tuple[Submission, list[SubmissionFile], Review, str, str, str]:
    """The public view of a shared capstone: submission, files, review, learner, course and capstone titles."""
    row = db.execute(
        select(Submission, User.name, Course.title, Item.title)
        .join(Enrollment, Enrollment.id == Submission.enrollment_id).join(User, User.id == Enrollment.user_id)
        .join(Course, Course.id == Submission.course_id).join(Item, Item.id == Submission.item_id)
        .where(Submission.share_token == token, Submission.state == "passed")
    ).first() if token else None
    if row is None:
        raise NotFound("Nothing is shared at this address. The learner may have stopped sharing it.")
    view = _with_files_and_reviews(db, [row[0]])[0]
    return row[0], view.files, view.review, row[1], row[2], row[3]


# -- what changed between versions ------------------------------------------------------------------

@dataclass(frozen=True)
class VersionChanges:
    text_diff: list[tuple[str, str]]  # (kind, line): kind is "same", "added", "removed"
    links_added: tuple[str, ...]
    links_removed: tuple[str, ...]
    files_added: tuple[str, ...]
    files_removed: tuple[str, ...]
    files_changed: tuple[str, ...]  # same name, different content

    @property
    def any(self) -> bool:
        return any(kind != "same" for kind, _ in self.text_diff) or bool(
            self.links_added or self.links_removed or self.files_added or self.files_removed or self.files_changed)


def changes_between(before: VersionView, after: VersionView) -> VersionChanges:
    """A line diff of the write-ups and the links and files added, removed or replaced."""
    old_lines, new_lines = before.submission.text.splitlines(), after.submission.text.splitlines()
    diff = []
    for line in difflib.ndiff(old_lines, new_lines):
        code, content = line[:2], line[2:]
        if code == "  ":
            diff.append(("same", content))
        elif code == "+ ":
            diff.append(("added", content))
        elif code == "- ":
            diff.append(("removed", content))
    old_files = {f.name: f.sha256 for f in before.files}
    new_files = {f.name: f.sha256 for f in after.files}
    return VersionChanges(
        text_diff=diff,
        links_added=tuple(link for link in after.submission.links if link not in before.submission.links),
        links_removed=tuple(link for link in before.submission.links if link not in after.submission.links),
        files_added=tuple(name for name in new_files if name not in old_files),
        files_removed=tuple(name for name in old_files if name not in new_files),
        files_changed=tuple(name for name in new_files if name in old_files and old_files[name] != new_files[name]),
    )


# -- the grader queue ---------------------------------------------------------------------------------

class QueueEntry(NamedTuple):
    """One waiting version. Its course is named by id: the queue's viewer has the graded courses'
    slugs and titles already (:func:`graded_courses`), so the queue's statement need not join them.
    A named tuple rather than a frozen dataclass: 25 of them a page, and a frozen dataclass costs
    several times more to build."""
    submission_id: int
    version: int
    state: str
    submitted_at: datetime
    learner_name: str
    claimed_by_id: int | None
    claimed_by_name: str | None
    claim_expires_at: datetime | None
    enrollment_id: int
    course_id: int

    def claim_active(self, now: datetime) -> bool:
        return self.state == "in_review" and self.claim_expires_at is not None and self.claim_expires_at > now


def waiting_time(since: datetime, now: datetime) -> str:
    """How long a version has waited, as the queue and the digest say it: "3 days", "5 hours", "12 min"."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds >= 86400:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds // 60} min" if seconds >= 60 else "under a minute"


@dataclass(frozen=True)
class GradedCourse:
    id: int
    slug: str
    title: str
    blind: bool = False  # its capstone is reviewed blind: graders see a pseudonym


# The queue's statements are built once per variant, with bound parameters: building a SELECT of
# this size costs more per request than running it (bench: the queue page).
# Roles compared one by one rather than with IN (...): SQLAlchemy expands an IN list into the SQL
# text on every execution, which costs more than the comparison.
_GRADING_ROLE = or_(CourseRole.role == "grader", CourseRole.role == "instructor")
_GRADED_COURSES = (
    select(Course.id, Course.slug, Course.title, CapstoneVersion.id)
    .outerjoin(Item, and_(Item.course_id == Course.id, Item.kind == "capstone", Item.retired_at.is_(None)))
    .outerjoin(CapstoneVersion, and_(CapstoneVersion.item_id == Item.id, CapstoneVersion.retired_at.is_(None)))
    .where(Course.retired_at.is_(None)).order_by(Course.title, Course.id)
)
_GRADED_COURSES_OF_USER = _GRADED_COURSES.where(Course.id.in_(
    select(CourseRole.course_id).where(CourseRole.user_id == bindparam("user_id"), _GRADING_ROLE)))


@dataclass(frozen=True, eq=False)
class GradedCourses:
    """The courses a user grades, as the queue uses them: in title order, by slug, and which review blind.

    Compared by identity: :func:`graded_courses` hands out one object per distinct list, so a view
    can cache what it derives from it (the course filter's options) without hashing fifty courses.
    """
    courses: tuple[GradedCourse, ...]
    by_slug: dict[str, GradedCourse]
    blind_ids: frozenset[int]

    def __iter__(self):
        return iter(self.courses)

    def __len__(self) -> int:
        return len(self.courses)


# One GradedCourses per distinct result of the query, so a grader's list is built once per process
# rather than on every view of the queue; the query itself still runs every time, so a new role,
# a retired course or a changed title shows at once. Bounded: the oldest lists are dropped first.
_graded_lists: dict[tuple, GradedCourses] = {}
_GRADED_LISTS_KEPT = 512


def graded_courses(db: Session, user_id: int, is_admin: bool = False) -> GradedCourses:
    """The courses whose capstones a user grades: as grader or instructor (admins: every course).

    One statement, with each course's live capstone version, so the queue knows which courses
    review blind without asking again (the definitions come from the per-process cache).
    """
    # Core rows on the session's connection: the ORM's result machinery costs more than this query.
    connection = db.connection()
    result = (connection.execute(_GRADED_COURSES) if is_admin
              else connection.execute(_GRADED_COURSES_OF_USER, {"user_id": user_id}))
    rows = tuple(map(tuple, result.all()))  # plain tuples: a Row compares (as a cache key) slowly
    graded = _graded_lists.get(rows)
    if graded is None:
        courses = tuple(GradedCourse(course_id, slug, title,
                                     version_id is not None and is_blind(capstone_version(db, version_id)))
                        for course_id, slug, title, version_id in rows)
        graded = GradedCourses(courses, {c.slug: c for c in courses},
                               frozenset(c.id for c in courses if c.blind))
        if len(_graded_lists) >= _GRADED_LISTS_KEPT:
            del _graded_lists[next(iter(_graded_lists))]
        _graded_lists[rows] = graded
    return graded


QUEUE_STATUSES = {
    "waiting": "Waiting for a grader",
    "mine": "Claimed by me",
    "in_review": "Being graded by someone",
    "all": "Everything waiting",
}


@dataclass(frozen=True)
class QueueScope:
    """Whose queue: the courses a grader grades (by their roles), one of them, or every course (admins).

    The courses are a condition inside the queue's SQL rather than a list of ids passed in: a list
    is rendered into the statement on every request, which costs more than the query itself.
    """
    grader_id: int
    course_id: int | None = None  # one course (the caller has checked that the grader grades it)
    every_course: bool = False  # admins

    @property
    def kind(self) -> str:
        return "course" if self.course_id is not None else "all" if self.every_course else "roles"


_LIVE_COURSES = select(Course.id).where(Course.retired_at.is_(None))
_SCOPE_FILTERS = {
    "course": Submission.course_id == bindparam("course_id"),
    "all": Submission.course_id.in_(_LIVE_COURSES),
    "roles": Submission.course_id.in_(
        _LIVE_COURSES.join(CourseRole, CourseRole.course_id == Course.id)
        .where(CourseRole.user_id == bindparam("grader_id"), _GRADING_ROLE)),
}


def _scope_params(scope: QueueScope, now: datetime | None) -> dict:
    return {"grader_id": scope.grader_id, "course_id": scope.course_id, "now": now or utcnow()}

_CLAIM_ACTIVE = and_(Submission.state == "in_review", Submission.claim_expires_at > bindparam("now"))
_STATUS_FILTERS = {
    "waiting": or_(Submission.state == "submitted", Submission.claim_expires_at <= bindparam("now")),
    "mine": and_(_CLAIM_ACTIVE, Submission.claimed_by_id == bindparam("grader_id")),
    "in_review": _CLAIM_ACTIVE,
    "all": None,
}


# The courses of each scope that reads several, for the per-course reading on PostgreSQL.
_SCOPE_COURSES = {
    "all": _LIVE_COURSES,
    "roles": _LIVE_COURSES.join(CourseRole, CourseRole.course_id == Course.id)
    .where(CourseRole.user_id == bindparam("grader_id"), _GRADING_ROLE).distinct(),
}


@functools.cache
def _queue_statement(scope: str, status: str, paged: bool, dialect: str = "sqlite"):
    # The page's ids first, then the details of just those rows. The ids come from the covering partial
    # indexes of waiting versions, never from a sort of the whole queue: on SQLite by reading
    # ix_submissions_waiting in order (at most a page of index entries when the grader grades most of
    # the queue); on PostgreSQL, for several courses, as each course's oldest page from
    # ix_submissions_waiting_by_course (a LATERAL top-N per course: courses x a page of entries,
    # however long the queue), where PostgreSQL would otherwise fetch and sort every waiting row.
    conditions = [is_waiting()]
    if _STATUS_FILTERS[status] is not None:
        conditions.append(_STATUS_FILTERS[status])
    if paged:
        conditions.append(tuple_(Submission.submitted_at, Submission.id)
                          > tuple_(bindparam("after_at", type_=Submission.submitted_at.type),
                                   bindparam("after_id", type_=Integer)))
    if dialect == "postgresql" and scope in _SCOPE_COURSES:
        courses = _SCOPE_COURSES[scope].subquery("scope_courses")
        oldest = (select(Submission.id, Submission.submitted_at)
                  .where(Submission.course_id == courses.c.id, *conditions)
                  .order_by(Submission.submitted_at, Submission.id).limit(bindparam("limit"))
                  .lateral("oldest"))
        page = (select(oldest.c.id, oldest.c.submitted_at).select_from(courses).join(oldest, true())
                .order_by(oldest.c.submitted_at, oldest.c.id).limit(bindparam("limit")))
    else:
        page = (select(Submission.id, Submission.submitted_at).where(_SCOPE_FILTERS[scope], *conditions)
                .order_by(Submission.submitted_at, Submission.id).limit(bindparam("limit")))
    page = page.subquery("page")
    claimer = aliased(User)
    return (
        select(Submission.id, Submission.version, Submission.state,
               Submission.submitted_at, User.name, Submission.claimed_by_id, claimer.name,
               Submission.claim_expires_at, Submission.enrollment_id, Submission.course_id)
        .select_from(page)
        .join(Submission, Submission.id == page.c.id)
        .join(Enrollment, Enrollment.id == Submission.enrollment_id)
        .join(User, User.id == Enrollment.user_id)
        .outerjoin(claimer, claimer.id == Submission.claimed_by_id)
        .order_by(page.c.submitted_at, page.c.id)
    )


def grader_queue(db: Session, scope: QueueScope, status: str = "waiting",
                 after: tuple[datetime, int] | None = None, limit: int = QUEUE_PAGE_SIZE,
                 now: datetime | None = None) -> tuple[list[QueueEntry], tuple[datetime, int] | None]:
    """One page of waiting versions in the scope's courses, oldest first; and the cursor of the next page.

    Keyset pagination on (submitted_at, id): one statement whatever the queue's length, served by
    the partial index of waiting versions. A claim that has expired counts as waiting again.
    """
    if status not in QUEUE_STATUSES:
        raise DomainError(f"Unknown status filter; choose one of: {', '.join(QUEUE_STATUSES)}.")
    params = _scope_params(scope, now) | {"limit": limit + 1}
    if after is not None:
        params["after_at"], params["after_id"] = after
    connection = db.connection()
    rows = connection.execute(_queue_statement(scope.kind, status, after is not None, connection.dialect.name),
                              params).all()
    entries = [QueueEntry(*row) for row in rows[:limit]]
    cursor = (entries[-1].submitted_at, entries[-1].submission_id) if len(rows) > limit else None
    return entries, cursor


# Counted exactly up to here; beyond, the page says "more than 250" (ten pages of the queue): the
# count then reads a bounded stretch of the index, whatever the queue's size.
QUEUE_COUNT_CAP = 250


@functools.cache
def _counts_statement(scope: str):
    first = (select(Submission.state, Submission.claim_expires_at).where(is_waiting(), _SCOPE_FILTERS[scope])
             .limit(bindparam("cap")).subquery())
    active = and_(first.c.state == "in_review", first.c.claim_expires_at > bindparam("now"))
    return select(func.count(), func.count().filter(active)).select_from(first)


def queue_counts(db: Session, scope: QueueScope, now: datetime | None = None) -> dict[str, int | bool]:
    """How many versions wait in the scope's courses, and how many are being graded (one statement).

    Counted up to QUEUE_COUNT_CAP versions; ``capped`` says the queue holds more. A grader needs
    "more than 250", not the exact figure.
    """
    total, in_review = db.connection().execute(_counts_statement(scope.kind),
                                  _scope_params(scope, now) | {"cap": QUEUE_COUNT_CAP + 1}).one()
    if total > QUEUE_COUNT_CAP:
        return {"waiting": QUEUE_COUNT_CAP, "in_review": 0, "capped": True}
    return {"waiting": total - in_review, "in_review": in_review, "capped": False}


# -- claiming and grading -------------------------------------------------------------------------------

@dataclass(frozen=True)
class GradingContext:
    """What the grading screen needs about one version."""

    submission: Submission
    learner_id: int
    learner_name: str
    course_slug: str
    course_title: str
    capstone_title: str
    capstone: Capstone
    versions: list[VersionView]

    @property
    def current(self) -> VersionView:
        return next(v for v in self.versions if v.submission.id == self.submission.id)

    @property
    def revision_number(self) -> int:
        return revision_number([v.submission for v in self.versions], self.submission)

    @property
    def previous(self) -> VersionView | None:
        earlier = [v for v in self.versions if v.submission.version < self.submission.version]
        return earlier[-1] if earlier else None


def grading_context(db: Session, course_id: int, submission_id: int) -> GradingContext:
    row = db.execute(
        select(Submission, Enrollment.user_id, User.name, Course.slug, Course.title, Item.title)
        .join(Enrollment, Enrollment.id == Submission.enrollment_id).join(User, User.id == Enrollment.user_id)
        .join(Course, Course.id == Submission.course_id).join(Item, Item.id == Submission.item_id)
        .where(Submission.id == submission_id, Submission.course_id == course_id, Submission.state != "draft")
    ).first()
    if row is None:
        raise NotFound("There is no submitted capstone with that number in this course.")
    submission = row[0]
    versions = [v for v in versions_of(db, submission.enrollment_id, submission.item_id)
                if v.submission.state != "draft"]
    return GradingContext(submission, row[1], row[2], row[3], row[4], row[5],
                          capstone_version(db, submission.capstone_version_id), versions)


def claim(db: Session, submission_id: int, grader_id: int, now: datetime | None = None) -> Submission:
    """Lock a submitted version to a grader for CLAIM_DURATION. A conditional UPDATE decides between
    two graders; claiming again extends one's own claim; an expired claim can be taken over."""
    now = now or utcnow()
    submission = _submission_for_grader(db, submission_id, grader_id)
    before = submission.state
    changed = db.execute(
        update(Submission).where(
            Submission.id == submission_id,
            or_(Submission.state == "submitted",
                and_(Submission.state == "in_review",
                     or_(Submission.claim_expires_at <= now, Submission.claimed_by_id == grader_id))))
        .values(state="in_review", claimed_by_id=grader_id, claim_expires_at=now + CLAIM_DURATION)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.refresh(submission)
    if not changed:
        _explain_unavailable(db, submission, grader_id)
    audit.record(db, "capstone.claimed", "submission", submission_id, grader_id, from_state=before,
                 to_state="in_review", until=submission.claim_expires_at.isoformat())
    return submission


def release(db: Session, submission_id: int, grader_id: int) -> None:
    """Give a claimed version back to the queue without grading it."""
    changed = db.execute(
        update(Submission).where(Submission.id == submission_id, Submission.state == "in_review",
                                 Submission.claimed_by_id == grader_id)
        .values(state="submitted", claimed_by_id=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise NotClaimed("You do not hold this submission, so there is nothing to release.")
    audit.record(db, "capstone.released", "submission", submission_id, grader_id, from_state="in_review",
                 to_state="submitted")


def _submission_for_grader(db: Session, submission_id: int, grader_id: int) -> Submission:
    row = db.execute(select(Submission, Enrollment.user_id).join(Enrollment, Enrollment.id == Submission.enrollment_id)
                     .where(Submission.id == submission_id)).first()
    if row is None or row[0].state == "draft":
        raise NotFound("There is no submitted capstone with that number.")
    if row[1] == grader_id:
        raise OwnSubmission("You cannot grade your own submission; another grader of the course will.")
    return row[0]


def _explain_unavailable(db: Session, submission: Submission, grader_id: int):
    if submission.state == "in_review" and submission.claimed_by_id != grader_id:
        name = db.scalar(select(User.name).where(User.id == submission.claimed_by_id)) or "Another grader"
        until = submission.claim_expires_at.strftime("%H:%M UTC")
        raise ClaimTaken(f"{name} is grading this submission (claimed until {until}). Choose another one "
                         "from the queue.")
    if submission.state in ("passed", "needs_revision", "not_passed"):
        raise AlreadyGraded("This submission has already been graded.")
    raise NotClaimed("Claim this submission before grading it.")


@dataclass(frozen=True)
class Grading:
    """What a grader entered on the grading screen."""

    scores: dict[str, float]
    criterion_comments: dict[str, str]
    comment: str
    outcome: str | None = None  # None: the outcome the pass rule suggests
    override_reason: str | None = None


def grade(db: Session, submission_id: int, grader_id: int, grading: Grading, *, can_override: bool,
          now: datetime | None = None) -> Review:
    """Record the review of a claimed version and move it to its outcome.

    The grader must hold the claim (a conditional UPDATE checks it as it changes the state), so of
    two concurrent gradings exactly one wins; the unique review per version backs that up. The
    outcome follows the pass rule: only an instructor (``can_override``) may decide otherwise, and
    only with a written reason.
    """
    now = now or utcnow()
    submission = _submission_for_grader(db, submission_id, grader_id)
    capstone = capstone_version(db, submission.capstone_version_id)
    try:
        result = evaluate(capstone, grading.scores)
    except ValueError as exc:
        raise GradingInvalid(str(exc)) from None
    if result.missing:
        raise GradingInvalid("Choose a level for every criterion: " + ", ".join(result.missing) + ".")
    earlier = db.scalars(select(Submission).where(Submission.enrollment_id == submission.enrollment_id,
                                                  Submission.item_id == submission.item_id,
                                                  Submission.version < submission.version))
    revision = revision_number(earlier, submission)
    suggested = suggested_outcome(result, revision, capstone.max_revisions)
    outcome = grading.outcome or suggested
    reason = (grading.override_reason or "").strip() or None
    revisions_left = revision - 1 < capstone.max_revisions
    if outcome not in ("passed", "needs_revision", "not_passed"):
        raise GradingInvalid("Choose an outcome: passed, needs revision or not passed.")
    if outcome == "needs_revision" and not revisions_left:
        raise GradingInvalid(f"This is the last version allowed ({capstone.max_revisions} revisions): choose "
                             "passed or not passed.")
    overriding = (outcome == "passed") != result.meets_pass_rule
    if overriding:
        if not can_override:
            raise GradingInvalid("The rubric scores " + ("meet" if result.meets_pass_rule else "do not meet")
                                 + " the pass rule, so the outcome must be "
                                 + ("passed" if result.meets_pass_rule else "needs revision or not passed")
                                 + ". Only an instructor can decide otherwise, with a written reason.")
        if not reason:
            raise GradingInvalid("Write the reason for overriding the pass rule; the learner and the audit log see it.")
    else:
        reason = None
    comments = {k: v.strip() for k, v in grading.criterion_comments.items() if v and v.strip()}
    if any(len(v) > MAX_COMMENT_CHARS for v in [*comments.values(), grading.comment]):
        raise GradingInvalid(f"A comment is longer than {MAX_COMMENT_CHARS:,} characters; shorten it.")
    changed = db.execute(
        update(Submission).where(Submission.id == submission_id, Submission.state == "in_review",
                                 Submission.claimed_by_id == grader_id)
        .values(state=outcome, decided_at=now, claim_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        db.refresh(submission)
        _explain_unavailable(db, submission, grader_id)
    comment = (grading.comment or "").strip()
    review = Review(submission_id=submission_id, grader_id=grader_id,
                    capstone_version_id=submission.capstone_version_id, scores=dict(grading.scores),
                    criterion_comments=comments, comment=comment,
                    comment_html=render_markdown(comment, embedded=True).html if comment else "", points=result.points,
                    max_points=result.max_points, meets_rule=result.meets_pass_rule, suggested_outcome=suggested,
                    outcome=outcome, override_reason=reason, overridden_by_id=grader_id if reason else None,
                    graded_at=now)
    try:
        with db.begin_nested():
            db.add(review)
            db.flush()
    except IntegrityError:
        raise AlreadyGraded("This submission has already been graded.") from None
    db.refresh(submission)
    audit.record(db, "capstone.graded", "submission", submission_id, grader_id, from_state="in_review",
                 to_state=outcome, points=result.points, overridden=bool(reason))
    if outcome == "passed":
        enrollments.complete_item(db, submission.enrollment_id, submission.item_id, "passed")
    capstone_graded.send(db, submission=submission, review=review)
    return review


# -- audit trail ----------------------------------------------------------------------------------------

def history(db: Session, submission_ids: list[int]) -> list:
    """The audit events of these versions, oldest first, with the actor's name."""
    from lms.audit.models import AuditEvent  # noqa: PLC0415

    if not submission_ids:
        return []
    return db.execute(
        select(AuditEvent, User.name).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.subject_type == "submission", AuditEvent.subject_id.in_(submission_ids))
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()


# -- small lookups for the pages ------------------------------------------------------------------------

def file_in_course(db: Session, file_id: int, course_id: int) -> tuple[SubmissionFile, int] | None:
    """A submission file of this course and the enrollment it belongs to (None when there is none)."""
    row = db.execute(select(SubmissionFile, Submission.enrollment_id)
                     .join(Submission, Submission.id == SubmissionFile.submission_id)
                     .where(SubmissionFile.id == file_id, Submission.course_id == course_id)).first()
    return (row[0], row[1]) if row else None


def user_name(db: Session, user_id: int | None) -> str | None:
    return db.scalar(select(User.name).where(User.id == user_id)) if user_id else None


def is_blind(capstone: Capstone) -> bool:
    """Blind review: graders see a pseudonym instead of the learner's name."""
    return capstone.blind_review


def pseudonym(enrollment_id: int) -> str:
    """What a blind grader sees instead of a name: the same for every version of one learner's
    capstone (so revisions can be followed), and not their name or email."""
    digest = hashlib.blake2s(f"capstone-learner:{enrollment_id}".encode(), digest_size=3).hexdigest().upper()
    return f"Learner {digest}"


def next_waiting(db: Session, grader_id: int, course_id: int) -> int | None:
    """The oldest version waiting for a grader in this course, for "grade the next one"."""
    entries, _ = grader_queue(db, QueueScope(grader_id, course_id=course_id), "waiting", limit=1)
    return entries[0].submission_id if entries else None
