"""The admin overview and the admin work on accounts: finding users, course roles, the admin flag.

Figures are aggregates computed by the database, in a fixed number of statements whatever the
number of users, enrollments, credentials or submissions. Role changes go through
``lms.auth.services.grant``/``revoke`` (the same functions as ``flask users grant``/``revoke``),
which record each change in the audit log with the acting admin's id.
Course folders (listing, preview, sync) are in ``lms.admin.folders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.auth import services as auth
from lms.auth.models import COURSE_ROLES, CourseRole, User
from lms.capstones.models import Submission, is_waiting
from lms.capstones.services import waiting_time
from lms.catalog.freshness import overdue_condition, review_due
from lms.catalog.models import Course
from lms.credentials.models import Credential
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.errors import Conflict, DomainError, Forbidden, NotFound
from lms.reports.weeks import WeekCount, count_per_week

ACTIVE_DAYS = 7
USERS_PAGE_SIZE = 25
USERS_COUNT_CAP = 1000
MAX_QUERY_CHARS = 100


class AdminInputError(DomainError):
    """A value in an admin form is not acceptable (unknown course or role, nothing chosen)."""


class RoleAlreadyHeld(Conflict):
    pass


class RoleNotHeld(Conflict):
    pass


class LastAdmin(Conflict):
    pass


class OwnAdminFlag(Forbidden):
    pass


@dataclass(frozen=True)
class OverdueCourse:
    slug: str
    title: str
    reviewed_on: date
    every_months: int

    @property
    def due(self) -> date:
        return review_due(self.reviewed_on, self.every_months)


def overdue_courses(db: Session, today: date) -> list[OverdueCourse]:
    """Live courses whose review is overdue, the longest overdue first (one statement)."""
    rows = db.execute(select(Course.slug, Course.title, Course.reviewed_on, Course.review_every_months)
                      .where(Course.retired_at.is_(None), overdue_condition(today))
                      .order_by(Course.reviewed_on, Course.slug)).all()
    return sorted((OverdueCourse(*row) for row in rows), key=lambda c: (c.due, c.slug))


# -- the overview ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overview:
    users: int  # accounts not deleted
    new_users: int  # of which created in the last 7 days
    active_learners: int  # distinct users with activity in an enrollment in the last 7 days
    enrollments: int
    waiting: int  # the grading backlog: submitted versions nobody is grading (expired claims included)
    in_review: int
    oldest_waiting_at: datetime | None
    credential_weeks: tuple[WeekCount, ...]
    overdue: tuple[OverdueCourse, ...]
    now: datetime

    @property
    def oldest_waiting(self) -> str | None:
        return None if self.oldest_waiting_at is None else waiting_time(self.oldest_waiting_at, self.now)

    @property
    def credentials_issued(self) -> int:
        return sum(w.count for w in self.credential_weeks)


def overview(db: Session, now: datetime | None = None) -> Overview:
    """The site in figures: three statements (the counts, credentials per week, overdue courses)."""
    now = now or utcnow()
    since = now - timedelta(days=ACTIVE_DAYS)
    live_user = User.deleted_at.is_(None)
    claim_active = and_(Submission.state == "in_review", Submission.claim_expires_at > now)
    backlog = (select(Submission.state, Submission.claim_expires_at, Submission.submitted_at)
               .where(is_waiting(), Submission.course_id.in_(select(Course.id).where(Course.retired_at.is_(None))))
               .subquery())
    waiting_row = or_(backlog.c.state == "submitted", backlog.c.claim_expires_at <= now)
    counts = select(
        select(func.count()).select_from(User).where(live_user).scalar_subquery(),
        select(func.count()).select_from(User).where(live_user, User.created_at >= since).scalar_subquery(),
        select(func.count(func.distinct(Enrollment.user_id))).join(User, User.id == Enrollment.user_id)
        .where(Enrollment.last_activity_at >= since, live_user).scalar_subquery(),
        select(func.count()).select_from(Enrollment).scalar_subquery(),
        select(func.count()).select_from(backlog).where(waiting_row).scalar_subquery(),
        select(func.count()).select_from(Submission)
        .where(is_waiting(), claim_active, Submission.course_id.in_(select(Course.id).where(
            Course.retired_at.is_(None)))).scalar_subquery(),
        select(func.min(backlog.c.submitted_at)).where(waiting_row).scalar_subquery(),
    )
    users, new_users, active, enrollments, waiting, in_review, oldest = db.execute(counts).one()
    weeks = count_per_week(db, Credential.issued_at, now=now)
    return Overview(users, new_users, active, enrollments, waiting, in_review, oldest, weeks,
                    tuple(overdue_courses(db, now.astimezone(UTC).date())), now)


# -- finding users ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    name: str
    is_admin: bool
    created_at: datetime
    roles: tuple[tuple[str, str], ...]  # (role, course slug)


@dataclass(frozen=True)
class UserPage:
    rows: tuple[UserRow, ...]
    query: str
    total: int  # matching accounts, counted up to USERS_COUNT_CAP
    total_capped: bool
    next_after: int | None  # the cursor of the next page: the id of this page's last user


def _like_pattern(text: str) -> str:
    """``%text%`` for LIKE with ``\\`` as the escape character: a typed % or _ matches itself."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_users(db: Session, query: str = "", after: int | None = None, limit: int = USERS_PAGE_SIZE) -> UserPage:
    """Accounts (not deleted) whose email or name contains ``query`` (case-insensitive), by email.

    Keyset pagination: ``after`` is the id of the previous page's last user, and the page continues
    after that user's email (unique), so a page costs the same however deep it is. Three statements:
    the page, the capped count, and the roles of the page's users.
    """
    query = " ".join(query.split())[:MAX_QUERY_CHARS]
    conditions = [User.deleted_at.is_(None)]
    if query:
        pattern = _like_pattern(query.lower())
        # Emails are stored lower-case; names are compared lower-cased (ASCII only on SQLite).
        conditions.append(or_(User.email.like(pattern, escape="\\"),
                              func.lower(User.name).like(pattern, escape="\\")))
    page_conditions = list(conditions)
    if after is not None:
        page_conditions.append(User.email > select(User.email).where(User.id == after).scalar_subquery())
    rows = db.execute(select(User.id, User.email, User.name, User.is_admin, User.created_at)
                      .where(*page_conditions).order_by(User.email).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    total = db.scalar(select(func.count()).select_from(
        select(User.id).where(*conditions).limit(USERS_COUNT_CAP + 1).subquery()))
    roles: dict[int, list[tuple[str, str]]] = {}
    if rows:
        for user_id, role, slug in db.execute(
                select(CourseRole.user_id, CourseRole.role, Course.slug).join(Course, Course.id == CourseRole.course_id)
                .where(CourseRole.user_id.in_([r.id for r in rows])).order_by(Course.slug, CourseRole.role)):
            roles.setdefault(user_id, []).append((role, slug))
    return UserPage(tuple(UserRow(*row, roles=tuple(roles.get(row.id, ()))) for row in rows), query,
                    min(total, USERS_COUNT_CAP), total > USERS_COUNT_CAP, rows[-1].id if more else None)


@dataclass(frozen=True)
class RoleRow:
    course_slug: str
    course_title: str
    role: str
    granted_at: datetime
    course_retired: bool


@dataclass(frozen=True)
class UserDetail:
    id: int
    email: str
    name: str
    is_admin: bool
    created_at: datetime
    email_verified: bool
    enrollments: int
    roles: tuple[RoleRow, ...]


MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger number in a URL names nothing (and must not reach SQL)


def _live_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None or user.deleted_at is not None:
        raise NotFound("There is no account with this number. It may have been deleted.")
    return user


def user_detail(db: Session, user_id: int) -> UserDetail:
    """One account with its course roles (by course) and how many courses it is enrolled in."""
    user = _live_user(db, user_id)
    roles = db.execute(select(Course.slug, Course.title, CourseRole.role, CourseRole.granted_at,
                              Course.retired_at.is_not(None))
                       .join(Course, Course.id == CourseRole.course_id).where(CourseRole.user_id == user_id)
                       .order_by(Course.title, Course.slug, CourseRole.role)).all()
    enrollments = db.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.user_id == user_id))
    return UserDetail(user.id, user.email, user.name, user.is_admin, user.created_at, user.email_verified,
                      enrollments, tuple(RoleRow(*row) for row in roles))


def course_choices(db: Session) -> list[tuple[str, str]]:
    """(slug, title) of the live courses, by title: what a role can be granted in."""
    return [tuple(row) for row in db.execute(select(Course.slug, Course.title).where(Course.retired_at.is_(None))
                                             .order_by(Course.title, Course.slug))]


# -- changing roles --------------------------------------------------------------------------------

ROLE_LABELS = {"instructor": "an instructor", "grader": "a grader"}


def _checked_role_and_course(db: Session, role: str, course_slug: str, *, live: bool) -> Course:
    if role not in COURSE_ROLES:
        raise AdminInputError(f"There is no role “{role}” for a course; choose instructor or grader.")
    if not course_slug:
        raise AdminInputError("Choose the course the role is for.")
    course = db.scalar(select(Course).where(Course.slug == course_slug))
    if course is None:
        raise AdminInputError(f"There is no course “{course_slug}”; choose one from the list.")
    if live and course.retired_at is not None:
        raise AdminInputError(f"The course “{course.title}” is retired; roles are granted in live courses only.")
    return course


def grant_course_role(db: Session, actor_id: int, user_id: int, course_slug: str, role: str) -> Course:
    """Make a user instructor or grader of a live course (audited). Raises if already held."""
    user = _live_user(db, user_id)
    course = _checked_role_and_course(db, role, course_slug, live=True)
    try:
        with db.begin_nested():
            changed = auth.grant(db, user, role, course.slug, actor_id=actor_id)
            db.flush()
    except IntegrityError:  # granted by a concurrent request between the check and the insert
        changed = False
    if not changed:
        raise RoleAlreadyHeld(f"{user.name} is already {ROLE_LABELS[role]} of “{course.title}”; nothing changed.")
    return course


def remove_course_role(db: Session, actor_id: int, user_id: int, course_slug: str, role: str) -> Course:
    """Take a course role away (audited). Raises if the user does not hold it."""
    user = _live_user(db, user_id)
    course = _checked_role_and_course(db, role, course_slug, live=False)
    if not auth.revoke(db, user, role, course.slug, actor_id=actor_id):
        raise RoleNotHeld(f"{user.name} is not {ROLE_LABELS[role]} of “{course.title}”; nothing changed.")
    return course


def set_admin(db: Session, actor_id: int | None, user_id: int, admin: bool) -> User:
    """Give or take away the site-wide admin flag (audited).

    An admin cannot take away their own flag, and the last admin keeps it: the site always has
    someone who can manage it. The admins' rows are locked first (``FOR UPDATE`` on PostgreSQL;
    SQLite serializes writers anyway), so two admins removing each other at the same moment
    cannot both succeed.
    """
    user = _live_user(db, user_id)
    if admin:
        if not auth.grant(db, user, "admin", actor_id=actor_id):
            raise RoleAlreadyHeld(f"{user.name} is already an admin; nothing changed.")
        return user
    if actor_id is not None and actor_id == user_id:
        raise OwnAdminFlag("You cannot remove your own admin rights. Ask another admin to do it: this way the "
                           "site never loses its last admin by accident.")
    admins = set(db.scalars(select(User.id).where(User.is_admin.is_(True), User.deleted_at.is_(None))
                            .with_for_update()))
    db.refresh(user)  # the flag as it is now, after the lock
    if not user.is_admin:
        raise RoleNotHeld(f"{user.name} is not an admin; nothing changed.")
    if not admins - {user_id}:
        raise LastAdmin(f"{user.name} is the only admin. Make someone else an admin first, so that the site "
                        "keeps one.")
    auth.revoke(db, user, "admin", actor_id=actor_id)
    return user

