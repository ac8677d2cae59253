"""The course dashboard's domain: the courses an instructor teaches, the course's snapshot of figures
(read, judged fresh or stale, refreshed), the learners at risk, and nudging them by email.

The expensive figures live in ``course_stats`` (one row per course, lms/instructor/stats.py computes
it with GROUP BY queries): the dashboard reads that row, one statement, and asks for a background
refresh (job ``instructor.refresh_course_stats``, deduplicated against a pending one) when it is older
than ``FRESH_FOR`` or the course's content changed. Learners at risk are listed live, from the
(course_id, last_activity_at) index, a page at a time; a nudge is a conditional UPDATE of
``enrollments.nudged_at`` (at most one per learner per ``NUDGE_INTERVAL``) and a notification of kind
"nudge", whose email goes through the outbox.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.auth.models import CourseRole, User
from lms.catalog.freshness import review_due
from lms.catalog.models import Course
from lms.catalog.services import Outline, get_outlines
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.errors import DomainError
from lms.instructor import stats
from lms.instructor.models import CourseStats
from lms.jobs import enqueue
from lms.jobs.models import Job
from lms.notifications.services import Kind, Message, notify_many, register_kind

FRESH_FOR = timedelta(minutes=10)  # a snapshot older than this is shown "(updating)" and a refresh is queued
# With no snapshot at all, a course this small is computed in the request (a few milliseconds); a bigger
# one is left to the background job, so no request ever pays for a 10,000-learner aggregate.
COMPUTE_INLINE_MAX_LEARNERS = 2000
REFRESH_MIN_INTERVAL = timedelta(seconds=30)  # "Refresh now" again within this does nothing
REFRESH_JOB = "instructor.refresh_course_stats"
AT_RISK_PAGE = 25
AT_RISK_COUNT_CAP = 500  # the at-risk page counts this many at most ("more than 500")
NUDGE_KIND = "nudge"
NUDGE_INTERVAL = timedelta(days=7)
NUDGE_MAX_LENGTH = 2000
NUDGE_BATCH = 1000  # "Nudge all" sends at most this many per click (the longest idle first)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

register_kind(NUDGE_KIND, Kind("Reminders from the instructors of my courses", email_default=True,
                               audience="learner"))


class NudgeInvalid(DomainError):
    status_code = 422


# -- the instructor's courses ----------------------------------------------------------------------

@dataclass(frozen=True)
class TaughtCourse:
    id: int
    slug: str
    title: str
    learners: int
    active_this_week: int
    review_due_on: date | None  # None when course.yml sets no review_every (or no reviewed_on)
    overdue: bool


def taught_courses(db: Session, user_id: int, is_admin: bool = False,
                   now: datetime | None = None) -> list[TaughtCourse]:
    """The live courses ``user_id`` is an instructor of (every live course for an admin), by title, with
    learners, learners active in the last seven days and the review due date. One statement."""
    now = now or utcnow()
    statement = (select(Course.id, Course.slug, Course.title, Course.reviewed_on, Course.review_every_months,
                        func.count(Enrollment.id),
                        func.count(Enrollment.id).filter(Enrollment.last_activity_at >= now - stats.ACTIVE_WINDOW))
                 .outerjoin(Enrollment, Enrollment.course_id == Course.id)
                 .where(Course.retired_at.is_(None))
                 .group_by(Course.id).order_by(Course.title, Course.id))
    if not is_admin:
        statement = statement.where(Course.id.in_(select(CourseRole.course_id).where(
            CourseRole.user_id == user_id, CourseRole.role == "instructor")))
    today = now.date()
    courses = []
    for course_id, slug, title, reviewed_on, every, learners, active in db.execute(statement):
        due = review_due(reviewed_on, every) if reviewed_on is not None and every is not None else None
        courses.append(TaughtCourse(course_id, slug, title, learners, active, due, due is not None and due < today))
    return courses


# -- the snapshot ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Week:
    start: date
    enrolled: int
    credentials: int
    current: bool  # this week, still running

    @property
    def label(self) -> str:
        return f"{self.start.day} {self.start:%b}"


@dataclass(frozen=True)
class Snapshot:
    """A course's figures as of ``computed_at`` (``data``: the shape lms/instructor/stats.py writes)."""

    course_id: int
    computed_at: datetime
    data: dict

    @property
    def learners(self) -> dict:
        return self.data["learners"]

    @cached_property  # read by the charts, two tables and the CSV: built once per snapshot object
    def weeks(self) -> list[Week]:
        credentials = (self.data["credentials"] or {}).get("weeks") or [0] * len(self.data["weeks"])
        last = len(self.data["weeks"]) - 1
        return [Week(date.fromisoformat(start), enrolled, issued, n == last)
                for n, (start, enrolled, issued) in enumerate(zip(self.data["weeks"], self.data["enrolled"],
                                                                   credentials, strict=True))]

    @property
    def funnel(self) -> list[dict]:
        return self.data["funnel"]

    @property
    def quizzes(self) -> list[dict]:
        return self.data["quizzes"]

    @property
    def capstone(self) -> dict | None:
        return self.data["capstone"]

    @property
    def credentials(self) -> dict | None:
        return self.data["credentials"]

    def is_stale(self, content_hash: str, now: datetime) -> bool:
        """Older than FRESH_FOR, or computed for another version of the course (a sync changed it)."""
        return self.computed_at < now - FRESH_FOR or self.data.get("content_hash") != content_hash


_SNAPSHOT = select(CourseStats.computed_at, CourseStats.data)


def read_snapshot(db: Session, course_id: int) -> Snapshot | None:
    """The stored snapshot, or None (also for one written in an older shape). One statement."""
    row = db.execute(_SNAPSHOT.where(CourseStats.course_id == course_id)).first()
    if row is None or not isinstance(row.data, dict) or row.data.get("v") != stats.SNAPSHOT_VERSION:
        return None
    return Snapshot(course_id, row.computed_at, row.data)


def _outline(db: Session, course_id: int) -> Outline | None:
    row = db.execute(select(Course.id, Course.content_hash).where(Course.id == course_id,
                                                                 Course.retired_at.is_(None))).first()
    return None if row is None else get_outlines(db, [(row[0], row[1])])[row[0]]


def refresh_course_stats(db: Session, course_id: int, now: datetime | None = None,
                         outline: Outline | None = None) -> Snapshot | None:
    """Compute the course's figures and store them (an upsert: two refreshes at once both succeed, the
    later one stays). None for a course that is gone or retired. In the caller's transaction."""
    now = now or utcnow()
    outline = outline or _outline(db, course_id)
    if outline is None:
        return None
    data = stats.compute(db, outline, now)
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(CourseStats).values(course_id=course_id, computed_at=now, data=data)
    db.execute(statement.on_conflict_do_update(index_elements=["course_id"],
                                               set_={"computed_at": now, "data": data}))
    return Snapshot(course_id, now, data)


def _pending_refresh(course_id: int):
    return select(Job.id).where(Job.kind == REFRESH_JOB, Job.done_at.is_(None), Job.failed_at.is_(None),
                                Job.payload["course_id"].as_integer() == course_id).limit(1)


def request_refresh(db: Session, course_id: int) -> bool:
    """Queue a background refresh of the course's snapshot unless one is already waiting. True if queued.

    Two requests at the same moment may both queue one; that costs one extra computation and no
    harm (the refresh is an upsert), so no lock is taken for it."""
    if db.scalar(_pending_refresh(course_id)) is not None:
        return False
    enqueue(db, REFRESH_JOB, {"course_id": course_id})
    return True


@dataclass(frozen=True)
class DashboardState:
    snapshot: Snapshot | None  # None only while a large course's first snapshot is being computed
    updating: bool  # a refresh is on its way: the figures shown may change


def dashboard_state(db: Session, outline: Outline, now: datetime | None = None) -> DashboardState:
    """What the dashboard shows, in the caller's transaction (the view commits: a refresh may be queued).

    Fresh snapshot: one statement. Stale: also the pending-refresh check and, if none, the job's INSERT.
    No snapshot yet: a small course is computed now; a large one gets a background refresh instead."""
    now = now or utcnow()
    snapshot = read_snapshot(db, outline.course_id)
    if snapshot is None:
        learners = db.scalar(select(func.count()).select_from(Enrollment)
                             .where(Enrollment.course_id == outline.course_id))
        if learners <= COMPUTE_INLINE_MAX_LEARNERS:
            return DashboardState(refresh_course_stats(db, outline.course_id, now, outline), False)
        request_refresh(db, outline.course_id)
        return DashboardState(None, True)
    if snapshot.is_stale(outline.content_hash, now):
        request_refresh(db, outline.course_id)
        return DashboardState(snapshot, True)
    return DashboardState(snapshot, False)


def refresh_now(db: Session, outline: Outline, now: datetime | None = None) -> bool:
    """The instructor's "Refresh now": compute in the request, unless the snapshot is under
    REFRESH_MIN_INTERVAL old (repeated clicks cost nothing). True if it was computed."""
    now = now or utcnow()
    snapshot = read_snapshot(db, outline.course_id)
    if (snapshot is not None and snapshot.computed_at > now - REFRESH_MIN_INTERVAL
            and not snapshot.is_stale(outline.content_hash, now)):
        return False
    refresh_course_stats(db, outline.course_id, now, outline)
    return True


def courses_to_refresh(db: Session, now: datetime, older_than: timedelta) -> list[int]:
    """Live courses with learners whose snapshot is missing or older than ``older_than`` and that have no
    refresh waiting already (the periodic job). One statement."""
    pending = select(Job.id).where(Job.kind == REFRESH_JOB, Job.done_at.is_(None), Job.failed_at.is_(None),
                                   Job.payload["course_id"].as_integer() == Course.id)
    return list(db.scalars(
        select(Course.id).outerjoin(CourseStats, CourseStats.course_id == Course.id)
        .where(Course.retired_at.is_(None), or_(CourseStats.computed_at.is_(None),
                                                CourseStats.computed_at < now - older_than),
               select(Enrollment.id).where(Enrollment.course_id == Course.id).exists(), ~pending.exists())
        .order_by(Course.id)))


# -- the charts' data as tables (the HTML tables and the CSV files share them) --------------------------

CHARTS = ("enrollments", "funnel", "quizzes", "capstone", "credentials")
STATE_LABELS = {"draft": "Drafts (not submitted)", "submitted": "Waiting for a grader", "in_review": "Being graded",
                "needs_revision": "Needs revision", "passed": "Passed", "not_passed": "Not passed"}


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def chart_table(snapshot: Snapshot, chart: str) -> tuple[list[str], list[list]]:
    """(header, rows) of one chart's numbers. ValueError for an unknown chart."""
    if chart == "enrollments":
        return (["week_beginning", "enrolled"],
                [[w.start.isoformat(), w.enrolled] for w in snapshot.weeks])
    if chart == "credentials":
        return (["week_beginning", "credentials_issued"],
                [[w.start.isoformat(), w.credentials] for w in snapshot.weeks])
    if chart == "funnel":
        total = snapshot.learners["total"]
        rows = [["0", "Enrolled", "", total, _share(total, total)]]
        rows += [[str(m["number"]), m["title"], m["steps"], m["completed"], _share(m["completed"], total)]
                 for m in snapshot.funnel]
        return ["module", "title", "steps", "learners_completed", "percent_of_enrolled"], rows
    if chart == "quizzes":
        return (["quiz", "title", "role", "submitted_attempts", "facility_percent", "learners_attempted",
                 "learners_passed", "pass_rate_percent"],
                [[q["number"], q["title"], q["role"], q["attempts"], q["facility"], q["learners"], q["passed"],
                  q["pass_rate"]] for q in snapshot.quizzes])
    if chart == "capstone":
        capstone = snapshot.capstone
        if capstone is None:
            return ["state", "versions"], []
        return ["state", "versions"], [[state, n] for state, n in capstone["states"].items()]
    raise ValueError(f"unknown chart {chart!r}")


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str:
    """A value as a CSV cell: None is empty; text that a spreadsheet would take for a formula gets a
    leading apostrophe, so it is shown as text and never run."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    return str(value)


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


# -- learners at risk ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AtRiskLearner:
    enrollment_id: int
    name: str
    email: str
    done: int
    total: int
    last_activity_at: datetime
    nudged_at: datetime | None

    @property
    def percent(self) -> int:
        return stats.percent(self.done, self.total)

    def idle_days(self, now: datetime) -> int:
        return (now - self.last_activity_at).days

    def nudged_recently(self, now: datetime) -> bool:
        return self.nudged_at is not None and self.nudged_at > now - NUDGE_INTERVAL

    @property
    def cursor(self) -> str:
        """Where the next page starts (keyset: last activity, then enrollment id), digits only."""
        return f"{(self.last_activity_at - _EPOCH) // timedelta(microseconds=1)}-{self.enrollment_id}"


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """A cursor from ``AtRiskLearner.cursor``; None (the first page) for anything else."""
    if not raw or len(raw) > 40:
        return None
    micros, _, enrollment_id = raw.partition("-")
    if not (micros.isdigit() and enrollment_id.isdigit()):
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(micros)), int(enrollment_id)
    except OverflowError:
        return None


@dataclass(frozen=True)
class AtRiskPage:
    learners: list[AtRiskLearner]
    total: int  # everyone at risk now, on every page (at most AT_RISK_COUNT_CAP)
    next_cursor: str | None
    more: bool = False  # more than ``total`` are at risk (the count stopped at its cap)


def _at_risk_statement(outline: Outline, now: datetime):
    return (select(Enrollment.id, User.name, User.email, stats.done_count(outline.step_ids).label("done"),
                   Enrollment.last_activity_at, Enrollment.nudged_at)
            .join(User, User.id == Enrollment.user_id)
            .where(*stats.at_risk_conditions(outline.course_id, outline, now))
            .order_by(Enrollment.last_activity_at, Enrollment.id))


def _learner(row, total: int) -> AtRiskLearner:
    return AtRiskLearner(row[0], row[1], row[2], row[3], total, row[4], row[5])


def at_risk_page(db: Session, outline: Outline, now: datetime | None = None, after: tuple[datetime, int] | None = None,
                 limit: int | None = None) -> AtRiskPage:
    """One page of the learners at risk, longest idle first, and how many there are. Two statements.

    Live rather than from the snapshot: the list is what an instructor acts on (nudging), so it must
    not name someone who came back an hour ago. Keyset paging on (last_activity_at, id) reads the
    (course_id, last_activity_at) index from where the previous page stopped, so page 40 costs what
    page 1 does."""
    now = now or utcnow()
    limit = limit or AT_RISK_PAGE
    statement = _at_risk_statement(outline, now)
    if after is not None:
        moment, enrollment_id = after
        statement = statement.where(or_(Enrollment.last_activity_at > moment,
                                        and_(Enrollment.last_activity_at == moment, Enrollment.id > enrollment_id)))
    total_steps = len(outline.steps)
    rows = db.execute(statement.limit(limit + 1)).all()
    learners = [_learner(row, total_steps) for row in rows[:limit]]
    # Counted up to a cap, as the grader queue does: each candidate's progress is a count of its
    # completions, so an exact total over thousands of idle learners would cost tens of milliseconds
    # per page view. The LIMIT lets the database stop at the cap.
    capped = (select(Enrollment.id).join(User, User.id == Enrollment.user_id)
              .where(*stats.at_risk_conditions(outline.course_id, outline, now)).limit(AT_RISK_COUNT_CAP + 1)
              .subquery())
    count = db.scalar(select(func.count()).select_from(capped))
    return AtRiskPage(learners, min(count, AT_RISK_COUNT_CAP), learners[-1].cursor if len(rows) > limit else None,
                      more=count > AT_RISK_COUNT_CAP)


def at_risk_rows(db: Session, outline: Outline, now: datetime | None = None) -> tuple[list[str], list[list]]:
    """Every learner at risk, for the CSV download (one statement)."""
    now = now or utcnow()
    total = len(outline.steps)
    rows = []
    for row in db.execute(_at_risk_statement(outline, now)):
        learner = _learner(row, total)
        rows.append([learner.name, learner.email, learner.percent, learner.done, total,
                     learner.last_activity_at.isoformat(timespec="seconds"),
                     learner.nudged_at.isoformat(timespec="seconds") if learner.nudged_at else None])
    return ["name", "email", "progress_percent", "steps_done", "steps_total", "last_active", "nudged_at"], rows


# -- nudges -------------------------------------------------------------------------------------------------

def default_nudge(course_title: str) -> str:
    return (f"It has been a little while since you last worked on {course_title}. Your progress is saved, so "
            "you can pick up exactly where you left off: even fifteen minutes this week will move you forward.\n\n"
            "Open the course with the link below and carry on with your next step.")


@dataclass(frozen=True)
class NudgeResult:
    sent: int
    skipped_recent: int  # at risk, but nudged in the last NUDGE_INTERVAL
    not_at_risk: int  # selected, but no longer at risk (active again, progressed, or not in this course)
    remaining: int  # at risk and due a nudge, beyond NUDGE_BATCH: "Nudge all" again sends to them


def clean_message(message: str | None) -> str:
    text = (message or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise NudgeInvalid("Write the message to send: the learners receive it by email and on their "
                           "notifications page.")
    if len(text) > NUDGE_MAX_LENGTH:
        raise NudgeInvalid(f"The message is {len(text):,} characters long; the limit is {NUDGE_MAX_LENGTH:,}. "
                           "Shorten it and send again.")
    return text


def nudge(db: Session, outline: Outline, sender_id: int, sender_name: str, message: str | None,
          enrollment_ids: Sequence[int] | None, now: datetime | None = None) -> NudgeResult:
    """Send the message to the selected learners (``enrollment_ids``) or, with None, to everyone at risk,
    in the caller's transaction: a notification of kind "nudge" each, whose email is queued in the outbox.

    Only learners at risk right now receive it, and each at most once per NUDGE_INTERVAL: the
    conditional UPDATE of ``nudged_at`` decides, so two instructors sending at once nudge nobody twice
    (the second UPDATE finds the rows already nudged). A fixed number of statements however many learners."""
    now = now or utcnow()
    text = clean_message(message)
    if enrollment_ids is not None:
        wanted = set(enrollment_ids)
        if not wanted:
            raise NudgeInvalid("Select at least one learner to nudge, or choose \u201cNudge everyone at risk\u201d.")
        if len(wanted) > NUDGE_BATCH:
            raise NudgeInvalid(f"Select at most {NUDGE_BATCH:,} learners at a time.")
    statement = (select(Enrollment.id, Enrollment.nudged_at).join(User, User.id == Enrollment.user_id)
                 .where(*stats.at_risk_conditions(outline.course_id, outline, now))
                 .order_by(Enrollment.last_activity_at, Enrollment.id))
    if enrollment_ids is not None:
        statement = statement.where(Enrollment.id.in_(sorted(wanted)))
    candidates = db.execute(statement).all()
    cutoff = now - NUDGE_INTERVAL
    due = [eid for eid, nudged_at in candidates if nudged_at is None or nudged_at <= cutoff]
    chosen = due[:NUDGE_BATCH]
    user_ids: list[int] = []
    if chosen:
        user_ids = list(db.scalars(
            update(Enrollment).where(Enrollment.id.in_(chosen), Enrollment.course_id == outline.course_id,
                                     or_(Enrollment.nudged_at.is_(None), Enrollment.nudged_at <= cutoff))
            .values(nudged_at=now).returning(Enrollment.user_id).execution_options(synchronize_session=False)))
    if user_ids:
        body = f"{text}\n\n\u2014 {sender_name}, instructor of {outline.course_title}"
        title = f"A note from your instructor of {outline.course_title}"
        notify_many(db, NUDGE_KIND, [Message(uid, title, body, outline.course_url) for uid in user_ids])
        audit.record(db, "instructor.nudged", "course", outline.course_id, sender_id, learners=len(user_ids))
    # Skipped: nudged within the interval when read, or (a race) by another sender since.
    return NudgeResult(sent=len(user_ids), skipped_recent=(len(candidates) - len(due)) + (len(chosen) - len(user_ids)),
                       not_at_risk=len(wanted) - len(candidates) if enrollment_ids is not None else 0,
                       remaining=len(due) - len(chosen))
