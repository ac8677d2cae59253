"""The job outbox: enqueue in the caller's transaction, claims, retries, periodic jobs, racing runners."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lms.jobs import job_settings
from lms.jobs.models import Job, JobRun
from lms.jobs.services import (
    DEFAULT_LEASE,
    JobContext,
    PermanentFailure,
    UnknownJobKind,
    claim,
    enqueue,
    job_handler,
    list_jobs,
    periodic,
    retry_failed,
    run_due,
)

ON_POSTGRES = bool(os.environ.get("LMS_TEST_DATABASE_URL"))

# What the test handlers did, per test (cleared by the fixture below).
CALLS: list[tuple[str, int, int]] = []
FAILURES: dict[int, int] = {}  # job id -> how many times to fail before succeeding
_lock = threading.Lock()


@job_handler("test.record", max_attempts=3)
def _record(ctx: JobContext, payload: dict) -> None:
    with _lock:
        CALLS.append(("record", ctx.job_id, ctx.attempt))
    if payload.get("sleep"):
        time.sleep(payload["sleep"])
    if FAILURES.get(ctx.job_id, 0) > 0:
        FAILURES[ctx.job_id] -= 1
        raise ConnectionError(f"try {ctx.attempt} failed")
    if payload.get("write"):  # a handler's own writes commit with the job's completion
        enqueue(ctx.db, "test.record", {"written_by": ctx.job_id})


@job_handler("test.always_fails", max_attempts=4)
def _always_fails(ctx: JobContext, payload: dict) -> None:
    enqueue(ctx.db, "test.record", {"must": "roll back with the failure"})
    raise RuntimeError(f"broken on attempt {ctx.attempt}")


@job_handler("test.permanent")
def _permanent(ctx: JobContext, payload: dict) -> None:
    raise PermanentFailure("no such mailbox")


@periodic("test.hourly", every=timedelta(hours=1))
def _hourly(ctx: JobContext, period_start: datetime) -> None:
    with _lock:
        CALLS.append(("hourly", ctx.job_id, int(period_start.timestamp())))


@pytest.fixture(autouse=True)
def _clean_calls():
    CALLS.clear()
    FAILURES.clear()
    yield
    CALLS.clear()
    FAILURES.clear()


@pytest.fixture
def maker(app):
    return app.extensions["lms.sessionmaker"]


@pytest.fixture
def settings(app):
    return job_settings(app)


def _later(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _queue(db, n: int = 1, **payload) -> list[int]:
    jobs = [enqueue(db, "test.record", dict(payload)) for _ in range(n)]
    db.commit()
    return [job.id for job in jobs]


def _mine(report) -> list:
    """The results of this file's one-off jobs (every run also schedules the periodic jobs)."""
    return [r for r in report.results if r.kind.startswith("test.")]


def _done(report) -> int:
    return sum(1 for r in _mine(report) if r.outcome == "done")


def _record_calls() -> list[int]:
    return [job_id for name, job_id, _ in CALLS if name == "record"]


def test_enqueue_belongs_to_the_callers_transaction(db):
    enqueue(db, "test.record", {"n": 1})
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Job)) == 0
    enqueue(db, "test.record", {"n": 2})
    db.commit()
    job = db.scalars(select(Job)).one()
    assert (job.payload, job.attempts, job.max_attempts, job.state) == ({"n": 2}, 0, 3, "open")


def test_enqueue_refuses_unknown_kinds_and_non_json_payloads(db):
    with pytest.raises(UnknownJobKind, match="no handler for job kind 'nope'"):
        enqueue(db, "nope", {})
    with pytest.raises(TypeError):
        enqueue(db, "test.record", {"when": datetime.now(UTC)})


def test_run_due_runs_each_job_once(db, maker, settings):
    ids = _queue(db, 3)
    report = run_due(maker, _later(), settings=settings)
    assert sorted(_record_calls()) == ids
    assert _done(report) == 3
    again = run_due(maker, _later(2), settings=settings)
    assert _mine(again) == [] and sorted(_record_calls()) == ids
    db.expire_all()
    assert all(job.done_at is not None and job.attempts == 1 for job in db.scalars(select(Job)))


def test_jobs_delayed_with_run_after_wait(db, maker, settings):
    job = enqueue(db, "test.record", {}, run_after=_later(3600))
    db.commit()
    run_due(maker, _later(), settings=settings)
    assert _record_calls() == []
    run_due(maker, _later(3601), settings=settings)
    assert _record_calls() == [job.id]


def test_a_claimed_job_cannot_be_claimed_again(db, maker):
    [job_id] = _queue(db)
    now = _later()
    with maker() as first, maker() as second:
        assert claim(first, job_id, "node-a", now) is True
        assert claim(second, job_id, "node-b", now) is False
        assert claim(second, job_id, "node-b", now + DEFAULT_LEASE - timedelta(seconds=1)) is False
    db.expire_all()
    job = db.get(Job, job_id)
    assert (job.claimed_by, job.attempts) == ("node-a", 1)


def test_an_expired_claim_is_retried_by_another_runner(db, maker, settings):
    [job_id] = _queue(db)
    now = _later()
    with maker() as session:
        assert claim(session, job_id, "crashed-node", now)  # ... and the runner dies here
    assert _mine(run_due(maker, now + timedelta(seconds=10), settings=settings)) == []  # lease still held
    report = run_due(maker, now + DEFAULT_LEASE + timedelta(seconds=1), settings=settings)
    assert [(r.job_id, r.outcome, r.attempt) for r in _mine(report)] == [(job_id, "done", 2)]
    assert [c for c in CALLS if c[0] == "record"] == [("record", job_id, 2)]


def test_failures_back_off_then_give_up_keeping_the_last_error(db, maker, settings):
    job = enqueue(db, "test.always_fails", {})
    db.commit()
    now = _later()
    delays = []
    for attempt in range(1, 5):
        report = run_due(maker, now, settings=settings)
        [result] = _mine(report)
        assert result.attempt == attempt
        db.expire_all()
        stored = db.get(Job, job.id)
        assert stored.last_error == f"RuntimeError: broken on attempt {attempt}"
        assert stored.claimed_by is None
        if attempt < 4:
            assert result.outcome == "retry"
            delays.append(stored.run_after - now)
            assert _mine(run_due(maker, stored.run_after - timedelta(seconds=1), settings=settings)) == []
            now = stored.run_after
        else:
            assert result.outcome == "failed" and stored.failed_at is not None
    assert delays == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert _mine(run_due(maker, now + timedelta(days=1), settings=settings)) == []
    # The handler's own writes rolled back with each failure.
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == "test.record")) == 0
    assert [j.id for j in list_jobs(db, "failed")] == [job.id]


def test_a_job_that_succeeds_on_a_retry_is_done(db, maker, settings):
    [job_id] = _queue(db)
    FAILURES[job_id] = 1
    now = _later()
    assert _mine(run_due(maker, now, settings=settings))[0].outcome == "retry"
    report = run_due(maker, now + timedelta(seconds=30), settings=settings)
    assert _mine(report)[0].outcome == "done"
    db.expire_all()
    job = db.get(Job, job_id)
    assert job.done_at is not None and job.attempts == 2 and job.last_error == "ConnectionError: try 1 failed"


def test_a_permanent_failure_gives_up_at_once(db, maker, settings):
    job = enqueue(db, "test.permanent", {})
    db.commit()
    [result] = _mine(run_due(maker, _later(), settings=settings))
    assert (result.outcome, result.attempt) == ("failed", 1)
    db.expire_all()
    assert db.get(Job, job.id).last_error == "PermanentFailure: no such mailbox"


def test_a_runner_that_dies_on_the_last_attempt_leaves_a_failed_job(db, maker, settings):
    job = enqueue(db, "test.permanent", {})
    db.commit()
    db.get(Job, job.id).attempts = job.max_attempts - 1
    db.commit()
    now = _later()
    with maker() as session:
        assert claim(session, job.id, "dies", now)
    report = run_due(maker, now + DEFAULT_LEASE + timedelta(seconds=1), settings=settings)
    assert report.abandoned == 1
    db.expire_all()
    stored = db.get(Job, job.id)
    assert stored.failed_at is not None and "stopped during the last attempt" in stored.last_error


def test_jobs_a_handler_enqueues_commit_with_its_completion_and_run_in_the_same_pass(db, maker, settings):
    [job_id] = _queue(db, write=True)
    report = run_due(maker, _later(), settings=settings)
    assert _done(report) == 2
    child = db.scalars(select(Job).where(Job.kind == "test.record", Job.id != job_id)).one()
    assert child.payload == {"written_by": job_id} and child.done_at is not None


def test_kinds_this_process_does_not_know_are_left_for_others(db, maker, settings):
    db.add(Job(kind="from.a.newer.release", payload={}, attempts=0, max_attempts=3))
    db.commit()
    assert _mine(run_due(maker, _later(), settings=settings)) == []
    assert db.scalars(select(Job).where(Job.kind == "from.a.newer.release")).one().attempts == 0


def test_retry_failed_gives_a_fresh_set_of_attempts(db, maker, settings):
    job = enqueue(db, "test.permanent", {})
    db.commit()
    run_due(maker, _later(), settings=settings)
    assert retry_failed(db, job.id) is True
    db.commit()
    assert retry_failed(db, job.id) is False  # it is open again, not failed
    db.expire_all()
    stored = db.get(Job, job.id)
    assert (stored.attempts, stored.failed_at, stored.state) == (0, None, "open")


def test_a_periodic_job_runs_once_per_period(db, maker, settings):
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    run_due(maker, base + timedelta(minutes=5), settings=settings)
    run_due(maker, base + timedelta(minutes=50), settings=settings)  # same period: nothing new
    hourly = [c for c in CALLS if c[0] == "hourly"]
    assert [start for _, _, start in hourly] == [int(base.timestamp())]
    run_due(maker, base + timedelta(hours=1, minutes=1), settings=settings)
    hourly = [c for c in CALLS if c[0] == "hourly"]
    assert [start for _, _, start in hourly] == [int(base.timestamp()), int((base + timedelta(hours=1)).timestamp())]
    runs = db.scalars(select(JobRun).where(JobRun.name == "test.hourly").order_by(JobRun.period_start)).all()
    assert [r.period_start for r in runs] == [base, base + timedelta(hours=1)]


def test_periods_are_aligned_to_the_clock_with_an_offset():
    from lms.jobs.services import PERIODIC_JOBS

    prune = PERIODIC_JOBS["jobs.prune"]  # daily at 03:00 UTC
    assert prune.period_start(datetime(2026, 12, 5, 2, 59, tzinfo=UTC)) == datetime(2026, 12, 4, 3, tzinfo=UTC)
    assert prune.period_start(datetime(2026, 12, 5, 3, 0, tzinfo=UTC)) == datetime(2026, 12, 5, 3, tzinfo=UTC)


def test_prune_deletes_old_done_jobs_only(db, maker, settings):
    old = datetime.now(UTC) - timedelta(days=20)
    db.add_all([Job(kind="test.record", payload={"old": True}, attempts=1, max_attempts=3, done_at=old),
                Job(kind="test.record", payload={"old": False}, attempts=1, max_attempts=3, done_at=_later()),
                Job(kind="test.permanent", payload={}, attempts=1, max_attempts=3, failed_at=old, last_error="x")])
    db.commit()
    run_due(maker, datetime.now(UTC) + timedelta(days=1), settings=settings)
    db.expire_all()
    left = db.scalars(select(Job).where(Job.kind.in_(["test.record", "test.permanent"]))).all()
    assert sorted(str(j.payload.get("old", "failed")) for j in left) == ["False", "failed"]


def _race(worker, count: int = 2) -> list:
    barrier = threading.Barrier(count)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(worker())
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency needs PostgreSQL (LMS_TEST_DATABASE_URL)")
def test_two_runners_at_once_run_each_job_exactly_once(db, maker, settings):
    ids = _queue(db, 30, sleep=0.005)  # each job takes a moment, so the runners really overlap
    reports = _race(lambda: run_due(maker, settings=settings))
    assert sorted(_record_calls()) == ids  # every job ran, and none twice
    assert sum(_done(r) for r in reports) == 30
    assert all(_done(r) > 0 for r in reports), [r.lines()[-1] for r in reports]  # both did work
    db.expire_all()
    assert all(job.attempts == 1 for job in db.scalars(select(Job).where(Job.kind == "test.record")))


@pytest.mark.postgres_only
@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency needs PostgreSQL (LMS_TEST_DATABASE_URL)")
def test_two_runners_at_once_schedule_a_periodic_job_once(db, maker, settings):
    now = datetime.now(UTC) + timedelta(hours=2)
    _race(lambda: run_due(maker, now, settings=settings), count=3)
    assert len([c for c in CALLS if c[0] == "hourly"]) == 1
    assert db.scalar(select(func.count()).select_from(JobRun).where(JobRun.name == "test.hourly")) == 1
