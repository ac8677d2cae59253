"""Account deletion in one transaction, and the password check that guards export and deletion.

HTTP-free; the caller commits, then removes the files ``erase_account`` names (lms.account_data.files)
only after the commit. What is erased and what is kept is decision 0022:

* erased (rows deleted): the learner's enrollments and everything under them through ON DELETE
  CASCADE (completions, quiz attempts and answers, review cards, capstone versions with their files
  and the reviews of them), notifications and email choices, course reviews (the catalog's rating
  summary follows), course roles, and the outbox's mail that names or addresses them; other people's
  notifications about the learner's capstone versions go too;
* kept without personal data: the ``users`` row as a tombstone (id, ``deleted_at``; no email, name or
  password), so that what others did stays attributed to "Deleted account" (reviews a grader wrote,
  replies an instructor wrote, revocations, manual awards) and so that the learner's credentials,
  revoked with the reason "holder request" and reduced to a document naming no one, still answer
  verifiers; the audit log, which holds ids only, unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.auth import passwords
from lms.auth.models import CourseRole, LoginSession, User
from lms.capstones.models import Submission, SubmissionFile
from lms.capstones.paths import submission_path
from lms.catalog.models import Course
from lms.course_reviews import services as course_reviews
from lms.credentials import services as credentials
from lms.enrollments.models import Enrollment
from lms.errors import DomainError, NotFound
from lms.jobs.models import Job
from lms.mail.services import MAIL_JOB
from lms.notifications.models import Notification, NotificationPreference
from lms.notifications.services import EMAIL_JOB

DELETED_NAME = "Deleted account"
CONFIRMATION = "delete my account"


class WrongPassword(DomainError):
    status_code = 403


class LastAdmin(DomainError):
    status_code = 409


def tombstone_email(user_id: int) -> str:
    """What a deleted account's email column holds: unique, not deliverable (.invalid), naming no one."""
    return f"deleted-{user_id}@deleted.invalid"


def check_password(db: Session, hasher, user_id: int, password: str) -> User:
    """The live account if ``password`` is its password; WrongPassword otherwise (re-authentication)."""
    user = db.scalar(select(User).where(User.id == user_id, User.deleted_at.is_(None)))
    if user is None:
        raise NotFound("This account no longer exists.")
    if not password or not passwords.verify(hasher, user.password_hash, password):
        raise WrongPassword("That is not your password. Enter the password you log in with.")
    return user


@dataclass
class Erasure:
    user_id: int
    files: set[str] = field(default_factory=set)  # SHA-256s the account referenced: remove after commit
    credentials_revoked: int = 0
    enrollments: int = 0
    course_reviews: int = 0
    notifications: int = 0
    jobs: int = 0
    claims_released: int = 0


def erase_account(db: Session, user_id: int, now: datetime) -> Erasure:
    """Erase an account's personal data, in the caller's transaction (decision 0022).

    Refuses (LastAdmin) when the account is the site's only admin. A fixed number of statements
    whatever the account holds, apart from one UPDATE per course the learner reviewed (to keep the
    catalog's summary right) and the status list work per list the credentials are on."""
    user = db.scalar(select(User).where(User.id == user_id, User.deleted_at.is_(None)).with_for_update()
                     .execution_options(populate_existing=True))
    if user is None:
        raise NotFound("This account no longer exists.")
    if user.is_admin:
        # Locked, as lms.admin does when an admin flag is removed: two admins deleting themselves at
        # the same moment cannot leave the site without one.
        admins = set(db.scalars(select(User.id).where(User.is_admin.is_(True), User.deleted_at.is_(None))
                                .with_for_update()))
        if not admins - {user_id}:
            raise LastAdmin("You are the only admin of this site, so your account cannot be deleted yet. Make "
                            "someone else an admin first (Admin, then Users), then delete your account.")
    result = Erasure(user_id)
    email, name = user.email, user.name

    own_submissions = (select(Submission.id).join(Enrollment, Enrollment.id == Submission.enrollment_id)
                       .where(Enrollment.user_id == user_id))
    result.files = set(db.scalars(select(SubmissionFile.sha256).distinct()
                                  .where(SubmissionFile.submission_id.in_(own_submissions))))
    paths = [submission_path(slug, sid) for sid, slug in db.execute(
        select(Submission.id, Course.slug).join(Course, Course.id == Submission.course_id)
        .where(Submission.id.in_(own_submissions)))]

    result.credentials_revoked = credentials.revoke_for_holder_request(db, user_id, now)
    result.course_reviews = course_reviews.delete_reviews_of_user(db, user_id)

    # A grader's claims go back to the queue (what lms.capstones.release does for one).
    result.claims_released = db.execute(
        update(Submission).where(Submission.claimed_by_id == user_id, Submission.state == "in_review")
        .values(state="submitted", claimed_by_id=None, claim_expires_at=None)
        .execution_options(synchronize_session=False)).rowcount

    # Other people's notifications about this learner's capstone versions (a grader's "Lee L. submitted
    # version 2"): they name the learner and link to what is being deleted. Their unread counters follow.
    if paths:
        touched = set(db.scalars(delete(Notification).where(Notification.link.in_(paths),
                                                            Notification.user_id != user_id)
                                 .returning(Notification.user_id).execution_options(synchronize_session=False)))
        if touched:
            unread = (select(func.count()).select_from(Notification)
                      .where(Notification.user_id == User.id, Notification.read_at.is_(None)).scalar_subquery())
            db.execute(update(User).where(User.id.in_(touched)).values(unread_notifications=unread)
                       .execution_options(synchronize_session=False))

    result.jobs = _delete_jobs(db, user_id, email, name, set(paths), now)
    result.enrollments = db.execute(delete(Enrollment).where(Enrollment.user_id == user_id)
                                    .execution_options(synchronize_session=False)).rowcount
    result.notifications = db.execute(delete(Notification).where(Notification.user_id == user_id)
                                      .execution_options(synchronize_session=False)).rowcount
    db.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user_id)
               .execution_options(synchronize_session=False))
    roles = db.execute(delete(CourseRole).where(CourseRole.user_id == user_id)
                       .execution_options(synchronize_session=False)).rowcount
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id)
               .execution_options(synchronize_session=False))  # (when they signed in, from where: gone)

    user.email = tombstone_email(user_id)
    user.name = DELETED_NAME
    user.password_hash = "!"  # not an argon2 hash: nothing verifies against it
    user.is_admin = False
    user.email_verified_at = None
    user.password_changed_at = now  # (every session of the account ends)
    user.deleted_at = now
    user.unread_notifications = 0
    audit.record(db, "account.erased", "user", user_id, user_id, credentials_revoked=result.credentials_revoked,
                 enrollments=result.enrollments, course_reviews=result.course_reviews, roles=roles,
                 claims_released=result.claims_released, files=len(result.files))
    db.flush()
    return result


def _delete_jobs(db: Session, user_id: int, email: str, name: str, paths: set[str], now: datetime) -> int:
    """Delete the outbox rows that address or name the account (sent mail is kept 14 days).

    Mail to the account, and notification emails for it or about its capstone versions, go whatever
    their state; mail to someone else that merely mentions the name goes once sent (a pending one,
    say a verification mail to a namesake, is theirs). A job being run right now is left alone."""
    needles = {email, json.dumps(email)[1:-1], name, json.dumps(name)[1:-1], *paths}
    text = cast(Job.payload, Text)
    rows = db.execute(select(Job.id, Job.kind, Job.payload, Job.done_at, Job.failed_at, Job.claimed_until)
                      .where(Job.kind.in_((MAIL_JOB, EMAIL_JOB)),
                             or_(*[text.contains(n, autoescape=True) for n in sorted(needles)],
                                 (Job.kind == EMAIL_JOB) & text.contains(f'"user_id": {user_id},', autoescape=True))
                             )).all()
    doomed = []
    for job_id, kind, stored_payload, done_at, failed_at, claimed_until in rows:
        if done_at is None and failed_at is None and claimed_until is not None and claimed_until > now:
            continue  # running: its handler finds the account gone (notification emails) or sends it
        payload = stored_payload or {}
        finished = done_at is not None or failed_at is not None
        mentions = any(n in json.dumps(payload, ensure_ascii=False) for n in (email, name))
        if (kind == MAIL_JOB and payload.get("to") == email) \
                or (kind == EMAIL_JOB and (payload.get("user_id") == user_id or payload.get("link") in paths)) \
                or (finished and mentions):
            doomed.append(job_id)
    if doomed:
        db.execute(delete(Job).where(Job.id.in_(doomed)).execution_options(synchronize_session=False))
    return len(doomed)
