"""The Redis side of the outbox: with ``LMS_REDIS_URL`` set, each job is pushed to an RQ queue as soon
as the transaction that created it commits, and ``flask jobs worker`` (an RQ worker, any number on any
node) runs it within moments instead of at the next cron minute.

The ``jobs`` table stays the record of what must happen: RQ only carries job ids. A worker runs an id
through the same claim as ``run_due`` (a conditional UPDATE), so an id delivered twice, or run by the
worker and by cron at once, runs once. If Redis is unreachable at commit, or loses its data, nothing
is lost: the rows wait for ``flask jobs run-due`` (cron), which also runs retries when their backoff
ends, and the periodic jobs. Only jobs due now are pushed; delayed ones are cron's.

Why after commit, from a session event: a job pushed before its transaction commits could be run
(and find no row, or act on a change that is then rolled back). ``after_commit`` fires only when the
database has committed; a rollback discards the session's list of new jobs without a word to Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from lms.db import utcnow
from lms.jobs.services import PENDING_KEY, run_jobs

log = logging.getLogger("lms.jobs.queue")

DISPATCHED_KEY = "lms.jobs_dispatched"  # session.info: ids already pushed (a session commits many times)
COMMITTED_KEY = "lms.jobs_committed"  # session.info: ids committed but left to cron (due later)
RESULT_TTL = 0  # RQ keeps no result: the outcome is in the jobs table
FAILURE_TTL = 24 * 3600  # an exception that escaped run_jobs (a bug) stays visible in RQ for a day
JOB_TIMEOUT = 300  # seconds; the outbox lease (jobs.services.DEFAULT_LEASE) is as long

_worker_app: Flask | None = None  # the app a worker process runs jobs with (``flask jobs worker`` sets it)


def queue_for(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis, default_timeout=JOB_TIMEOUT)


def push(queue: Queue, job_ids: Sequence[int]) -> None:
    """Put outbox job ids on the queue, one pipeline round trip for them all. The RQ job id repeats the
    queue's name and the outbox id, so a second push of the same id replaces the first rather than
    adding work, and two sites sharing a Redis with their own queue names never replace each other's."""
    if not job_ids:
        return
    queue.enqueue_many([Queue.prepare_data("lms.jobs.queue.run_outbox_job", args=(job_id,),
                                           job_id=f"{queue.name}-outbox-{job_id}", result_ttl=RESULT_TTL,
                                           failure_ttl=FAILURE_TTL, timeout=JOB_TIMEOUT)
                        for job_id in job_ids])


def _job_id(job) -> int | None:
    state = inspect(job)
    return state.identity[0] if state.persistent and state.identity is not None else None


def _due_ids(session: Session) -> list[int]:
    """Called after a commit: the ids of this session's new jobs that are now committed, due and not
    pushed yet (the others are remembered as committed, for cron)."""
    pending = session.info.get(PENDING_KEY) or []
    dispatched = session.info.setdefault(DISPATCHED_KEY, set())
    committed = session.info.setdefault(COMMITTED_KEY, set())
    now = utcnow()
    ids = []
    for job in pending:
        job_id = _job_id(job)
        if job_id is None or job_id in dispatched or job_id in committed:
            continue
        committed.add(job_id)
        run_after = inspect(job).dict.get("run_after")  # (no SQL: an expired attribute is simply absent)
        if run_after is None or run_after <= now:
            ids.append(job_id)
    dispatched.update(ids)
    return ids


def install(maker: sessionmaker, redis: Redis, queue_name: str) -> None:
    """Push every session's committed jobs to the queue (sessions of ``maker``: requests, commands,
    job handlers). Called once per app by ``lms.jobs.init_app`` when Redis is configured."""
    queue = queue_for(redis, queue_name)

    @event.listens_for(maker, "after_commit")
    def _push_after_commit(session: Session) -> None:
        ids = _due_ids(session)
        if not ids:
            return
        try:
            push(queue, ids)
        except RedisError as exc:
            # Committed and safe in the outbox: cron's run-due delivers them, a minute later at most.
            log.warning("could not push %d job(s) to Redis (%s); cron's run-due will run them", len(ids), exc)

    @event.listens_for(maker, "after_rollback")
    def _forget_rolled_back(session: Session) -> None:
        # Jobs of a rolled-back transaction never existed: keep only those an earlier commit of this
        # session made real, so a later commit pushes nothing that is not in the table. (Rows from
        # ``enqueue_many``'s INSERT ... RETURNING stay "persistent" objects after a rollback, so the
        # object state alone cannot tell.)
        pending = session.info.get(PENDING_KEY)
        if pending:
            committed = session.info.get(DISPATCHED_KEY, set()) | session.info.get(COMMITTED_KEY, set())
            session.info[PENDING_KEY] = [job for job in pending if _job_id(job) in committed]


def run_outbox_job(job_id: int) -> None:
    """What an RQ worker runs: the outbox job ``job_id``, if it is due and nobody else has claimed it."""
    from lms.jobs import job_settings  # noqa: PLC0415 (lms.jobs imports this module)

    app = _worker_app
    if app is None:
        raise RuntimeError("no app: start workers with `flask jobs worker`")
    report = run_jobs(app.extensions["lms.sessionmaker"], [int(job_id)], settings=job_settings(app))
    for result in report.results:
        if result.error:
            log.warning("job %s (%s) failed: %s", result.job_id, result.kind, result.error)


def make_worker(app: Flask, *, name: str | None = None) -> SimpleWorker:
    """An RQ worker for ``app``'s queue. SimpleWorker runs each job in this process rather than a fork:
    the jobs are short, and a fork would inherit (and corrupt) this process's database connections."""
    global _worker_app  # noqa: PLW0603 - one app per worker process, set once at start
    _worker_app = app
    settings = app.config["LMS_SETTINGS"]
    redis = app.extensions.get("lms.redis")
    if redis is None:
        raise RuntimeError("LMS_REDIS_URL is not set: without Redis, jobs run from `flask jobs run-due` (cron)")
    return SimpleWorker([queue_for(redis, settings.jobs_queue)], connection=redis, name=name)
