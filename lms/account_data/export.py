"""The learner's data as a zip: one ``data.json`` per area, their signed credentials and uploaded files.

Written to a temporary file while rows are streamed from the database in batches (``yield_per``),
so a big account never sits in memory at once. Only the learner's own rows are read, each query
filtered by their user id (directly or through their enrollments). Graders' identities are left out:
a review holds what the learner was shown (scores, comments, outcome).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import groupby
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.auth.models import CourseRole, LoginSession, User
from lms.capstones.models import OUTCOMES, Review, Submission, SubmissionFile
from lms.catalog.models import Course, Item, Module
from lms.course_reviews.models import CourseReview
from lms.credentials.models import Achievement, Credential
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.notifications.models import Notification, NotificationPreference
from lms.quizzes.models import AttemptAnswer, QuestionVersion, QuizAttempt
from lms.spaced_review.models import ReviewCard
from lms.uploads.storage import UploadStore

BATCH = 500  # rows fetched per round trip while streaming
FORMAT_VERSION = 1

README = """Your Skillmark data
===================

Exported {at} for account {user_id}.

Each folder holds a data.json (UTF-8 JSON; times are UTC, ISO 8601):

  profile/               your account, roles, email choices and when you signed in
  enrollments/           your courses, tracks and what you completed
  quiz-attempts/         every quiz attempt with your answers, scores and feedback
  capstone-submissions/  every version of your capstone projects, with the reviews you were shown;
                         files/<sha256>/<name> are the files you uploaded (the folder is the file's SHA-256)
  credentials/           your credentials; <id>.json is each signed Open Badges 3.0 document, as downloaded
  notifications/         your notifications
  course-reviews/        your course reviews and the replies to them
  review-cards/          your spaced-review cards
"""


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _dumps(value) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, indent=1)


def _write_list(archive: zipfile.ZipFile, name: str, items: Iterable[dict], head: dict | None = None) -> int:
    """Write ``{...head, "items": [...]}`` to ``name`` one item at a time; returns how many."""
    count = 0
    with archive.open(name, "w", force_zip64=True) as raw:
        out = _TextOut(raw)
        out.write("{" + "".join(f"{json.dumps(k)}: {_dumps(v)}, " for k, v in (head or {}).items()) + '"items": [\n')
        for item in items:
            out.write((",\n" if count else "") + _dumps(item))
            count += 1
        out.write("\n]}\n")
    return count


class _TextOut:
    def __init__(self, raw: IO[bytes]):
        self.raw = raw

    def write(self, text: str) -> None:
        self.raw.write(text.encode("utf-8"))


def _stream(db: Session, statement) -> Iterator:
    yield from db.execute(statement.execution_options(yield_per=BATCH))


def _profile(db: Session, user: User) -> dict:
    roles = db.execute(select(Course.slug, Course.title, CourseRole.role, CourseRole.granted_at)
                       .join(Course, Course.id == CourseRole.course_id)
                       .where(CourseRole.user_id == user.id).order_by(Course.slug, CourseRole.role)).all()
    choices = db.execute(select(NotificationPreference.kind, NotificationPreference.email,
                                NotificationPreference.updated_at)
                         .where(NotificationPreference.user_id == user.id)
                         .order_by(NotificationPreference.kind)).all()
    sessions = db.execute(select(LoginSession.started_at, LoginSession.ended_at)
                          .where(LoginSession.user_id == user.id).order_by(LoginSession.started_at)).all()
    return {"format_version": FORMAT_VERSION, "id": user.id, "email": user.email, "name": user.name,
            "created_at": user.created_at, "email_verified_at": user.email_verified_at,
            "password_changed_at": user.password_changed_at, "is_admin": user.is_admin,
            "course_roles": [{"course": slug, "course_title": title, "role": role, "granted_at": at}
                             for slug, title, role, at in roles],
            "email_choices": [{"kind": kind, "email": email, "updated_at": at} for kind, email, at in choices],
            "login_sessions": [{"started_at": started, "ended_at": ended} for started, ended in sessions]}


def _enrollments(db: Session, user_id: int) -> Iterator[dict]:
    rows = _stream(db, select(Enrollment.id, Course.slug, Course.title, Enrollment.track, Enrollment.enrolled_at,
                              Enrollment.last_activity_at, Item.kind, Module.slug, Item.slug, Item.title,
                              ItemCompletion.how, ItemCompletion.completed_at)
                   .join(Course, Course.id == Enrollment.course_id)
                   .outerjoin(ItemCompletion, ItemCompletion.enrollment_id == Enrollment.id)
                   .outerjoin(Item, Item.id == ItemCompletion.item_id)
                   .outerjoin(Module, Module.id == Item.module_id)
                   .where(Enrollment.user_id == user_id).order_by(Enrollment.id, ItemCompletion.id))
    for _enrollment_id, rows_of_one in groupby(rows, key=lambda r: r[0]):
        group = list(rows_of_one)
        first = group[0]
        yield {"course": first[1], "course_title": first[2], "track": first[3], "enrolled_at": first[4],
               "last_activity_at": first[5],
               "completed": [{"kind": r[6], "module": r[7], "item": r[8], "title": r[9], "how": r[10],
                              "completed_at": r[11]} for r in group if r[10] is not None]}


def _attempts(db: Session, user_id: int) -> Iterator[dict]:
    rows = _stream(db, select(QuizAttempt.id, Course.slug, Module.slug, Item.slug, Item.title, QuizAttempt.number,
                              QuizAttempt.state, QuizAttempt.started_at, QuizAttempt.deadline,
                              QuizAttempt.submitted_at, QuizAttempt.points_earned, QuizAttempt.points_possible,
                              QuizAttempt.passed, QuestionVersion.key, QuestionVersion.version,
                              QuestionVersion.type, AttemptAnswer.response, AttemptAnswer.saved_at,
                              AttemptAnswer.fraction, AttemptAnswer.status, AttemptAnswer.grader_comment,
                              AttemptAnswer.graded_at)
                   .join(Enrollment, Enrollment.id == QuizAttempt.enrollment_id)
                   .join(Item, Item.id == QuizAttempt.quiz_item_id)
                   .join(Module, Module.id == Item.module_id)
                   .join(Course, Course.id == Item.course_id)
                   .outerjoin(AttemptAnswer, AttemptAnswer.attempt_id == QuizAttempt.id)
                   .outerjoin(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_id)
                   .where(Enrollment.user_id == user_id).order_by(QuizAttempt.id, AttemptAnswer.id))
    for _attempt_id, rows_of_one in groupby(rows, key=lambda r: r[0]):
        group = list(rows_of_one)
        a = group[0]
        yield {"course": a[1], "module": a[2], "quiz": a[3], "quiz_title": a[4], "number": a[5], "state": a[6],
               "started_at": a[7], "deadline": a[8], "submitted_at": a[9], "points_earned": a[10],
               "points_possible": a[11], "passed": a[12],
               "answers": [{"question": r[13], "question_version": r[14], "type": r[15], "response": r[16],
                            "saved_at": r[17], "fraction": r[18], "status": r[19], "grader_comment": r[20],
                            "graded_at": r[21]} for r in group if r[13] is not None]}


def _file_path(sha256: str, name: str) -> str:
    return f"capstone-submissions/files/{sha256}/{name}"


def _submissions(db: Session, user_id: int, files: list[tuple[str, str]]) -> Iterator[dict]:
    """Each capstone version; the files it lists are appended to ``files`` (to copy in afterwards)."""
    rows = _stream(db, select(Submission.id, Course.slug, Item.slug, Item.title, Submission.version,
                              Submission.state, Submission.text, Submission.links, Submission.checks,
                              Submission.created_at, Submission.updated_at, Submission.submitted_at,
                              Submission.decided_at, Submission.shared_at, Review.scores, Review.criterion_comments,
                              Review.comment, Review.points, Review.max_points, Review.outcome,
                              Review.override_reason, Review.graded_at, SubmissionFile.name, SubmissionFile.sha256,
                              SubmissionFile.media_type, SubmissionFile.size)
                   .join(Enrollment, Enrollment.id == Submission.enrollment_id)
                   .join(Item, Item.id == Submission.item_id)
                   .join(Course, Course.id == Submission.course_id)
                   # The review as the learner sees it: only once the version is decided.
                   .outerjoin(Review, (Review.submission_id == Submission.id) & Submission.state.in_(OUTCOMES))
                   .outerjoin(SubmissionFile, SubmissionFile.submission_id == Submission.id)
                   .where(Enrollment.user_id == user_id).order_by(Submission.id, SubmissionFile.id))
    seen: set[tuple[str, str]] = set()
    for _submission_id, rows_of_one in groupby(rows, key=lambda r: r[0]):
        group = list(rows_of_one)
        s = group[0]
        listed = []
        for r in group:
            if r[23] is None:
                continue
            listed.append({"name": r[22], "sha256": r[23], "media_type": r[24], "size": r[25],
                           "path": _file_path(r[23], r[22])})
            if (r[23], r[22]) not in seen:
                seen.add((r[23], r[22]))
                files.append((r[23], r[22]))
        yield {"course": s[1], "capstone": s[2], "capstone_title": s[3], "version": s[4], "state": s[5],
               "text": s[6], "links": s[7], "checks": s[8], "created_at": s[9], "updated_at": s[10],
               "submitted_at": s[11], "decided_at": s[12], "shared_at": s[13], "files": listed,
               "review": None if s[21] is None else {
                   "scores": s[14], "criterion_comments": s[15], "comment": s[16], "points": s[17],
                   "max_points": s[18], "outcome": s[19], "override_reason": s[20], "graded_at": s[21]}}


def _credentials(db: Session, user_id: int) -> Iterator[dict]:
    rows = _stream(db, select(Credential.public_id, Achievement.kind, Achievement.slug, Credential.issued_at,
                              Credential.valid_from, Credential.valid_until, Credential.public, Credential.revoked_at,
                              Credential.revoke_reason, Credential.superseded_at, Credential.waiver)
                   .join(Achievement, Achievement.id == Credential.achievement_id)
                   .where(Credential.user_id == user_id).order_by(Credential.id))
    for r in rows:
        document_path = f"credentials/{r.public_id}.json"
        yield {"id": r.public_id, "achievement_kind": r.kind, "achievement": r.slug, "issued_at": r.issued_at,
               "valid_from": r.valid_from, "valid_until": r.valid_until, "public_page": r.public,
               "revoked_at": r.revoked_at, "revoke_reason": r.revoke_reason, "renewed_at": r.superseded_at,
               "waiver": r.waiver, "document": document_path}


def _notifications(db: Session, user_id: int) -> Iterator[dict]:
    for r in _stream(db, select(Notification.kind, Notification.title, Notification.body, Notification.link,
                                Notification.created_at, Notification.read_at)
                     .where(Notification.user_id == user_id).order_by(Notification.id)):
        yield dict(r._mapping)


def _course_reviews(db: Session, user_id: int) -> Iterator[dict]:
    for r in _stream(db, select(Course.slug.label("course"), CourseReview.rating, CourseReview.body,
                                CourseReview.created_at, CourseReview.updated_at, CourseReview.reply,
                                CourseReview.replied_at)
                     .join(Course, Course.id == CourseReview.course_id)
                     .where(CourseReview.user_id == user_id).order_by(CourseReview.id)):
        yield dict(r._mapping)


def _review_cards(db: Session, user_id: int) -> Iterator[dict]:
    for r in _stream(db, select(Course.slug.label("course"), Item.slug.label("quiz"), ReviewCard.question_key,
                                ReviewCard.box, ReviewCard.due_at, ReviewCard.reviews, ReviewCard.lapses,
                                ReviewCard.created_at, ReviewCard.last_reviewed_at, ReviewCard.missed_at,
                                ReviewCard.last_answer)
                     .join(Enrollment, Enrollment.id == ReviewCard.enrollment_id)
                     .join(Course, Course.id == Enrollment.course_id)
                     .join(Item, Item.id == ReviewCard.quiz_item_id)
                     .where(Enrollment.user_id == user_id).order_by(ReviewCard.id)):
        yield dict(r._mapping)


def build_export(db: Session, store: UploadStore, user_id: int, now: datetime) -> IO[bytes]:
    """Write the user's export to a new temporary file and return it, positioned at the start.

    The caller sends and closes it (the file has no name on disk once closed). A file listed by a
    submission but missing from the store is noted in ``missing-files.json`` rather than failing."""
    user = db.get(User, user_id)
    out = tempfile.TemporaryFile(prefix="skillmark-export-")
    try:
        files: list[tuple[str, str]] = []
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            archive.writestr("README.txt", README.format(at=now.isoformat(), user_id=user_id))
            archive.writestr("profile/data.json", _dumps(_profile(db, user)) + "\n")
            _write_list(archive, "enrollments/data.json", _enrollments(db, user_id))
            _write_list(archive, "quiz-attempts/data.json", _attempts(db, user_id))
            _write_list(archive, "capstone-submissions/data.json", _submissions(db, user_id, files))
            _write_list(archive, "credentials/data.json", _credentials(db, user_id))
            # Each signed document exactly as the credential's JSON download gives it (a zip has one
            # entry open for writing at a time, so these follow the list rather than interleave).
            for public_id, document in _stream(db, select(Credential.public_id, Credential.document)
                                               .where(Credential.user_id == user_id).order_by(Credential.id)):
                archive.writestr(f"credentials/{public_id}.json", json.dumps(document, ensure_ascii=False, indent=2))
            _write_list(archive, "notifications/data.json", _notifications(db, user_id))
            _write_list(archive, "course-reviews/data.json", _course_reviews(db, user_id))
            _write_list(archive, "review-cards/data.json", _review_cards(db, user_id))
            missing = []
            for sha256, name in files:
                try:
                    source = store.open(sha256)
                except FileNotFoundError:
                    missing.append({"sha256": sha256, "name": name})
                    continue
                with source, archive.open(_file_path(sha256, name), "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, 64 * 1024)
            if missing:
                archive.writestr("capstone-submissions/missing-files.json", _dumps(missing))
        out.seek(0)
        return out
    except BaseException:
        out.close()
        raise
