"""The job outbox: enqueue in the caller's transaction, run after commit, each job once.

A change and the work it causes (a mail, a notification email, a periodic digest) commit together:
``enqueue(db, "mail.send", {...})`` adds a row to ``jobs`` in the caller's session, so a rolled-back
change leaves no job behind. ``run_due`` (``flask jobs run-due``, from cron on every node) delivers
them:

- Each job is claimed with a conditional UPDATE (open, due, and not claimed by anyone whose claim is
  still valid). The database decides between racing runners: the UPDATE that changes the row owns
  the job, the others see rowcount 0 and move on. So any number of runners on any number of nodes
  run each job once in normal operation.
- A claim is a lease (``claimed_until``). A runner that dies mid-job leaves the lease to expire and
  the job is run again: delivery is at least once across crashes, exactly once otherwise.
- A failing job is retried with exponential backoff until its ``max_attempts``; the last error is
  kept and failed jobs stay in the table (``flask jobs list --failed``, ``flask jobs retry ID``).
- Periodic jobs (``@periodic``) are scheduled by whichever runner first inserts the
  ``job_runs`` row of the current period (a unique pair): that insert enqueues an ordinary job, so
  periodic work gets the same claims, retries and failure list.

Handlers get a ``JobContext``: the session whose commit also marks the job done (so a handler's own
database writes and its completion are one transaction), the attempt number and the settings.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from lms.config import Settings
from lms.db import utcnow
from lms.jobs.models import Job, JobRun

log = logging.getLogger("lms.jobs")

PENDING_KEY = "lms.jobs_pending"  # session.info key: jobs this session queued (run inline after a request)
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BACKOFF = timedelta(seconds=30)  # first retry; doubles each time
DEFAULT_MAX_BACKOFF = timedelta(hours=1)
DEFAULT_LEASE = timedelta(minutes=5)  # longer than any handler may take (SMTP times out after 20 s)
ERROR_MAX_LENGTH = 2000
KEEP_DONE_JOBS = timedelta(days=14)
KEEP_RUNS = timedelta(days=90)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UnknownJobKind(ValueError):
    """``enqueue`` was given a kind no handler is registered for (a programming error)."""


class PermanentFailure(Exception):  # noqa: N818 - it is a signal from a handler, not a bug
    """Raised by a handler when trying again cannot help: the job is marked failed at once."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets besides its payload."""

    db: Session  # its commit marks the job done: a handler's writes and its completion are atomic
    job_id: int
    kind: str
    attempt: int  # 1 on the first try
    now: datetime
    settings: Settings  # ``secret_key`` is the app's resolved signing key


@dataclass(frozen=True)
class Handler:
    kind: str
    func: Callable[[JobContext, dict], None]
    max_attempts: int
    backoff: timedelta
    max_backoff: timedelta

    def delay(self, attempt: int) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1, 2, ...)."""
        return min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)


# The registry of job kinds. Features register on import (``@job_handler("mail.send")``).
JOB_HANDLERS: dict[str, Handler] = {}


def _same_function(a: Callable, b: Callable) -> bool:
    # A module imported twice (tests, reloads) registers "the same" handler again: allow that only.
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def job_handler(kind: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS, backoff: timedelta = DEFAULT_BACKOFF,
                max_backoff: timedelta = DEFAULT_MAX_BACKOFF):
    """Register ``func(ctx: JobContext, payload: dict) -> None`` as the handler of ``kind``.

    A handler should be idempotent where it can (delivery is at least once across crashes). Raise any
    exception to retry later, ``PermanentFailure`` to give up now.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")

    def decorate(func):
        existing = JOB_HANDLERS.get(kind)
        if existing is not None and not _same_function(existing.func, func):
            raise ValueError(f"job kind {kind!r} already has a handler: {existing.func.__qualname__}")
        JOB_HANDLERS[kind] = Handler(kind, func, max_attempts, backoff, max_backoff)
        return func

    return decorate


def enqueue(db: Session, kind: str, payload: dict, run_after: datetime | None = None) -> Job:
    """Add a job in the caller's transaction: it exists (and runs) only if the caller commits.

    ``payload`` must be JSON (checked now, so a mistake fails in the caller rather than at commit).
    ``run_after`` delays it (an aware datetime); default: as soon as possible.
    """
    return _enqueue(db, kind, payload, run_after)


def enqueue_many(db: Session, kind: str, payloads: Sequence[dict], run_after: datetime | None = None) -> list[Job]:
    """``enqueue`` for a batch of jobs of one kind (a periodic job's emails), as one INSERT statement
    however many there are. Each payload is checked as ``enqueue`` checks it, before anything is written."""
    handler = _checked(kind, payloads)
    if not payloads:
        return []
    when = run_after or utcnow()
    rows = [{"kind": kind, "payload": payload, "run_after": when, "attempts": 0, "max_attempts": handler.max_attempts}
            for payload in payloads]
    jobs = list(db.scalars(insert(Job).returning(Job), rows))
    db.info.setdefault(PENDING_KEY, []).extend(jobs)
    return jobs


def _checked(kind: str, payloads: Sequence[dict]) -> Handler:
    handler = JOB_HANDLERS.get(kind)
    if handler is None:
        raise UnknownJobKind(f"no handler for job kind {kind!r}; known: {', '.join(sorted(JOB_HANDLERS))}")
    for payload in payloads:
        if not isinstance(payload, dict):
            raise TypeError("a job payload is a dict")
        json.dumps(payload)  # raises TypeError for anything JSON cannot hold
    return handler


def _enqueue(db: Session, kind: str, payload: dict, run_after: datetime | None = None,
             max_attempts: int | None = None) -> Job:
    handler = _checked(kind, [payload])
    job = Job(kind=kind, payload=payload, run_after=run_after or utcnow(), attempts=0,
              max_attempts=max_attempts or handler.max_attempts)
    db.add(job)
    db.info.setdefault(PENDING_KEY, []).append(job)
    return job


# -- periodic jobs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Periodic:
    name: str
    every: timedelta
    offset: timedelta  # periods start at UTC midnight (epoch) plus this, e.g. hours=7 for a 07:00 digest
    func: Callable[[JobContext, datetime], None]

    @property
    def kind(self) -> str:
        return f"periodic.{self.name}"

    def period_start(self, now: datetime) -> datetime:
        """The start of the period ``now`` falls in (periods are aligned to the epoch, not to start-up)."""
        elapsed = now - _EPOCH - self.offset
        return _EPOCH + self.offset + (elapsed // self.every) * self.every


PERIODIC_JOBS: dict[str, Periodic] = {}


def periodic(name: str, *, every: timedelta, offset: timedelta = timedelta(0), max_attempts: int = 3,
             backoff: timedelta = timedelta(minutes=1)):
    """Register ``func(ctx: JobContext, period_start: datetime) -> None`` to run once per period.

    ``flask jobs run-due`` runs it once in each period however many nodes call it. A period missed
    entirely (no runner ran during it) is not made up: the next run does the current period.
    Periodic work that sends things should enqueue one job per item (a mail per grader), so one
    failure is retried alone.
    """
    if every < timedelta(minutes=1):
        raise ValueError("a periodic job runs at most once a minute (run-due is run from cron)")
    if not timedelta(0) <= offset < every:
        raise ValueError("offset must be at least 0 and less than every")

    def decorate(func):
        job = Periodic(name, every, offset, func)

        def run(ctx: JobContext, payload: dict) -> None:
            func(ctx, datetime.fromisoformat(payload["period_start"]))

        run.__module__, run.__qualname__ = func.__module__, func.__qualname__
        job_handler(job.kind, max_attempts=max_attempts, backoff=backoff)(run)
        PERIODIC_JOBS[name] = job
        return func

    return decorate


def schedule_periodic(maker: sessionmaker, now: datetime) -> list[str]:
    """Enqueue each periodic job whose current period has no run yet; returns what was scheduled.

    The unique (name, period_start) row is inserted with the job, in one transaction: the runner
    whose insert commits schedules it; a racing runner gets an IntegrityError and leaves it.
    """
    scheduled = []
    for job in list(PERIODIC_JOBS.values()):
        start = job.period_start(now)
        with maker() as db:
            if db.scalar(select(JobRun.id).where(JobRun.name == job.name, JobRun.period_start == start)):
                continue  # the common case: already scheduled this period, one cheap read
            queued = _enqueue(db, job.kind, {"period_start": start.isoformat()}, run_after=now)
            db.flush()
            db.add(JobRun(name=job.name, period_start=start, job_id=queued.id, created_at=now))
            try:
                db.commit()
            except IntegrityError:
                db.rollback()
                continue
        scheduled.append(f"{job.name} for the period from {start:%Y-%m-%d %H:%M} UTC")
    return scheduled


# -- running jobs --------------------------------------------------------------------------------

@dataclass(frozen=True)
class JobResult:
    job_id: int
    kind: str
    outcome: str  # done | retry | failed | lost (our lease was taken over: the other runner's result stands)
    attempt: int
    error: str | None = None
    retry_at: datetime | None = None

    def line(self) -> str:
        head = f"job {self.job_id} {self.kind} (attempt {self.attempt})"
        if self.outcome == "done":
            return f"{head}: done"
        if self.outcome == "retry":
            return f"{head}: failed, retry after {self.retry_at:%Y-%m-%d %H:%M:%S} UTC: {self.error}"
        if self.outcome == "failed":
            return f"{head}: FAILED, gave up: {self.error}"
        return f"{head}: took longer than its lease and another runner took it over"


@dataclass
class RunReport:
    node: str
    scheduled: list[str] = field(default_factory=list)
    results: list[JobResult] = field(default_factory=list)
    skipped: int = 0  # claimed by another runner between our read and our claim
    abandoned: int = 0  # open jobs whose last attempt's runner died: marked failed

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    def lines(self) -> list[str]:
        out = [f"scheduled periodic job {s}" for s in self.scheduled]
        out += [r.line() for r in self.results]
        if self.abandoned:
            out.append(f"{self.abandoned} job(s) marked failed: their last attempt's runner stopped mid-job")
        out.append(f"{self.count('done')} done, {self.count('retry')} to retry, {self.count('failed')} failed, "
                   f"{self.skipped} taken by other runners ({self.node})")
        return out


def make_node_name() -> str:
    """Who holds a claim: host and process, plus a random part so two runs never share a claim."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


def _open_and_claimable(now: datetime):
    return (Job.done_at.is_(None), Job.failed_at.is_(None), Job.run_after <= now,
            Job.attempts < Job.max_attempts, or_(Job.claimed_until.is_(None), Job.claimed_until < now))


def claim(db: Session, job_id: int, node: str, now: datetime, lease: timedelta = DEFAULT_LEASE) -> bool:
    """Try to take the job; True if this runner now owns it. Commits (the claim must be visible to others).

    The attempt is counted here, not after the run: a job that kills its runner every time still
    reaches ``max_attempts`` and fails instead of looping forever.
    """
    result = db.execute(
        update(Job).where(Job.id == job_id, *_open_and_claimable(now))
        .values(claimed_by=node, claimed_until=now + lease, attempts=Job.attempts + 1)
        .execution_options(synchronize_session=False))
    db.commit()
    return result.rowcount == 1


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text[:ERROR_MAX_LENGTH]


def _run_claimed(maker: sessionmaker, job_id: int, node: str, now: datetime, settings: Settings) -> JobResult:
    with maker() as db:
        job = db.get(Job, job_id)
        handler = JOB_HANDLERS[job.kind]
        attempt, kind, payload = job.attempts, job.kind, job.payload
        context = JobContext(db=db, job_id=job_id, kind=kind, attempt=attempt, now=now, settings=settings)
        try:
            handler.func(context, payload)
            db.flush()
        except Exception as exc:  # noqa: BLE001 - any handler failure is recorded on the job, never lost
            db.rollback()
            return _record_failure(db, handler, job_id, kind, attempt, node, now, exc)
        finished = db.execute(
            update(Job).where(Job.id == job_id, Job.claimed_by == node, Job.done_at.is_(None))
            .values(done_at=now).execution_options(synchronize_session=False))
        if finished.rowcount != 1:
            db.rollback()  # undo the handler's writes: the runner that took the job over does them
            log.warning("job %s %s outlived its lease; another runner took it over", job_id, kind)
            return JobResult(job_id, kind, "lost", attempt)
        db.commit()
    return JobResult(job_id, kind, "done", attempt)


def _record_failure(db: Session, handler: Handler, job_id: int, kind: str, attempt: int, node: str,
                    now: datetime, exc: Exception) -> JobResult:
    error = _error_text(exc)
    give_up = isinstance(exc, PermanentFailure) or attempt >= handler.max_attempts
    values: dict = {"last_error": error, "claimed_by": None, "claimed_until": None}
    retry_at = None
    if give_up:
        values["failed_at"] = now
        log.error("job %s %s failed for good after %d attempt(s): %s", job_id, kind, attempt, error)
    else:
        retry_at = now + handler.delay(attempt)
        values["run_after"] = retry_at
        log.warning("job %s %s failed (attempt %d), retrying after %s: %s", job_id, kind, attempt, retry_at, error)
    recorded = db.execute(update(Job).where(Job.id == job_id, Job.claimed_by == node, Job.done_at.is_(None))
                          .values(**values).execution_options(synchronize_session=False))
    db.commit()
    if recorded.rowcount != 1:
        return JobResult(job_id, kind, "lost", attempt, error)
    return JobResult(job_id, kind, "failed" if give_up else "retry", attempt, error, retry_at)


def _fail_abandoned(maker: sessionmaker, now: datetime) -> int:
    """Open jobs that used their last attempt on a runner that died can never be claimed again: fail them."""
    with maker() as db:
        result = db.execute(
            update(Job).where(Job.done_at.is_(None), Job.failed_at.is_(None), Job.attempts >= Job.max_attempts,
                              Job.claimed_until < now)
            .values(failed_at=now, claimed_by=None, claimed_until=None,
                    last_error="the runner stopped during the last attempt (crash or timeout)")
            .execution_options(synchronize_session=False))
        db.commit()
        return result.rowcount


def _process(maker: sessionmaker, job_ids: Iterable[int], report: RunReport, now: datetime | None,
             settings: Settings, lease: timedelta) -> None:
    for job_id in job_ids:
        moment = now or utcnow()
        with maker() as db:
            claimed = claim(db, job_id, report.node, moment, lease)
        if not claimed:
            report.skipped += 1
            continue
        report.results.append(_run_claimed(maker, job_id, report.node, moment, settings))


def run_due(maker: sessionmaker, now: datetime | None = None, limit: int = 500, *, settings: Settings,
            node: str | None = None, lease: timedelta = DEFAULT_LEASE, batch: int = 50) -> RunReport:
    """Schedule due periodic jobs, then run due jobs one at a time (each claimed, run and committed
    on its own) until none is due or ``limit`` have run. Jobs that handlers enqueue are run too.

    ``now`` fixes the clock (tests); by default each claim uses the current time. Only kinds this
    process has handlers for are claimed, so during a rolling deploy an older node leaves a new kind
    to the newer ones. Raises only for infrastructure failures (the database is unreachable).
    """
    report = RunReport(node or make_node_name())
    start = now or utcnow()
    report.scheduled = schedule_periodic(maker, start)
    report.abandoned = _fail_abandoned(maker, start)
    seen: set[int] = set()  # each job at most once per run, whatever happens to it
    while len(report.results) < limit:
        moment = now or utcnow()
        query = (select(Job.id).where(*_open_and_claimable(moment), Job.kind.in_(list(JOB_HANDLERS)))
                 .order_by(Job.run_after, Job.id).limit(min(batch, limit - len(report.results))))
        if seen:
            query = query.where(Job.id.not_in(seen))
        with maker() as db:
            ids = list(db.scalars(query))
        if not ids:
            break
        seen.update(ids)
        _process(maker, ids, report, now, settings, lease)
    return report


def run_jobs(maker: sessionmaker, job_ids: Iterable[int], *, settings: Settings, now: datetime | None = None,
             lease: timedelta = DEFAULT_LEASE) -> RunReport:
    """Run these jobs now if they are due and unclaimed (the inline runner after a request)."""
    report = RunReport(make_node_name())
    _process(maker, job_ids, report, now, settings, lease)
    return report


# -- inspecting and repairing --------------------------------------------------------------------

def list_jobs(db: Session, state: str = "open", limit: int = 100) -> list[Job]:
    """Jobs by state: "open" (waiting or running), "failed", or "done" (newest first)."""
    query = select(Job)
    if state == "open":
        query = query.where(Job.done_at.is_(None), Job.failed_at.is_(None)).order_by(Job.run_after, Job.id)
    elif state == "failed":
        query = query.where(Job.failed_at.is_not(None)).order_by(Job.failed_at.desc(), Job.id.desc())
    elif state == "done":
        query = query.where(Job.done_at.is_not(None)).order_by(Job.done_at.desc(), Job.id.desc())
    else:
        raise ValueError(f"unknown state {state!r}: use open, failed or done")
    return list(db.scalars(query.limit(limit)))


def retry_failed(db: Session, job_id: int, now: datetime | None = None) -> bool:
    """Give a failed job a fresh set of attempts (after fixing what made it fail). False if not failed."""
    result = db.execute(update(Job).where(Job.id == job_id, Job.failed_at.is_not(None))
                        .values(failed_at=None, attempts=0, run_after=now or utcnow(), claimed_by=None,
                                claimed_until=None)
                        .execution_options(synchronize_session=False))
    return result.rowcount == 1


@periodic("jobs.prune", every=timedelta(days=1), offset=timedelta(hours=3))
def prune_done_jobs(ctx: JobContext, period_start: datetime) -> None:
    """Done jobs are kept two weeks for inspection, then deleted; failed ones stay until retried.
    Periodic runs are kept 90 days (a period's row only has to outlive its period)."""
    ctx.db.execute(delete(JobRun).where(JobRun.created_at < period_start - KEEP_RUNS)
                   .execution_options(synchronize_session=False))
    ctx.db.execute(delete(Job).where(Job.done_at < period_start - KEEP_DONE_JOBS)
                   .execution_options(synchronize_session=False))
