"""Jobs: the transactional outbox for mail and other side effects, and periodic tasks.

Services enqueue with ``lms.jobs.enqueue`` inside their transaction; ``flask jobs run-due`` runs what
is due (from cron on every node). With ``LMS_REDIS_URL`` the committed jobs are also pushed to an RQ
queue that ``flask jobs worker`` processes at once (lms/jobs/queue.py). With ``LMS_JOBS_INLINE`` (the
default outside production when there is no Redis) the jobs a request queued run right after it, once
the response is done and the request committed.
"""

from __future__ import annotations

import logging

from flask import Flask, g
from sqlalchemy import inspect

from lms.config import Settings
from lms.jobs.services import (
    JOB_HANDLERS,
    PENDING_KEY,
    PERIODIC_JOBS,
    JobContext,
    PermanentFailure,
    RunReport,
    UnknownJobKind,
    enqueue,
    enqueue_many,
    job_handler,
    periodic,
    run_due,
    run_jobs,
)

__all__ = ["JOB_HANDLERS", "PERIODIC_JOBS", "JobContext", "PermanentFailure", "RunReport", "UnknownJobKind",
           "enqueue", "enqueue_many", "init_app", "job_handler", "job_settings", "periodic", "run_due", "run_jobs"]

log = logging.getLogger("lms.jobs")


def job_settings(app: Flask) -> Settings:
    """The settings handlers see: the app's, with the resolved signing key (for links in mail)."""
    return app.config["LMS_SETTINGS"].with_overrides(secret_key=app.secret_key)


def init_app(app: Flask, settings: Settings) -> None:
    redis = app.extensions.get("lms.redis")
    if redis is not None:
        from lms.jobs import queue  # noqa: PLC0415 (rq is imported only where Redis is used)

        queue.install(app.extensions["lms.sessionmaker"], redis, settings.jobs_queue)

    @app.teardown_request
    def _run_inline(exc):
        db = g.get("db")
        pending = db.info.pop(PENDING_KEY, None) if db is not None else None
        # Not after an exception nothing handled (the request's work is being thrown away), and only
        # the jobs of transactions the request committed: a job whose transaction rolled back never
        # existed. The request is over, so whatever it left uncommitted is discarded first, which also
        # releases SQLite's write lock before the runner's own session writes.
        if not pending or exc is not None or not settings.jobs_inline:
            return
        db.rollback()
        job_ids = [state.identity[0] for state in map(inspect, pending) if state.persistent]
        if not job_ids:
            return
        try:
            run_jobs(app.extensions["lms.sessionmaker"], job_ids, settings=job_settings(app))
        except Exception:  # the change is committed; its jobs wait in the outbox for `flask jobs run-due`
            log.exception("running jobs after the request failed; they stay in the outbox")
