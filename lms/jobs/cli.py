"""`flask jobs`: run what is due (from cron on every node), run queued jobs (an RQ worker), list jobs,
retry a failed one."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from lms.db import get_db
from lms.jobs import job_settings
from lms.jobs.services import list_jobs, retry_failed, run_due

jobs_cli = AppGroup("jobs", help="The job outbox: mail and other work done after commit, and periodic jobs.")


@jobs_cli.command("run-due")
@click.option("--limit", default=500, show_default=True, help="Run at most this many jobs.")
def jobs_run_due(limit: int) -> None:
    """Run due jobs and periodic jobs. Safe to run from cron on every node at once.

    Exits 0 when jobs failed (they are retried later; see `flask jobs list --failed`), and
    non-zero only when the jobs could not be looked at (the database is unreachable).
    """
    try:
        report = run_due(current_app.extensions["lms.sessionmaker"], limit=limit,
                         settings=job_settings(current_app))
    except SQLAlchemyError as exc:
        click.secho(f"could not run jobs: the database did not answer ({type(exc).__name__}: {exc}). "
                    "Check LMS_DATABASE_URL and that the database is up; nothing was lost.", fg="red", err=True)
        sys.exit(2)
    for line in report.lines():
        colour = "red" if "FAILED" in line else "yellow" if ": failed, retry" in line else None
        click.secho(line, fg=colour)


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued, then stop (tests, one-off catch-up).")
@click.option("--name", default=None, help="The worker's name in Redis (default: host and process id).")
def jobs_worker(burst: bool, name: str | None) -> None:
    """Run queued jobs as they arrive (needs LMS_REDIS_URL). Run one or more per node under systemd;
    keep cron's `flask jobs run-due` too: it runs periodic jobs and retries, and anything Redis lost."""
    from redis.exceptions import RedisError  # noqa: PLC0415

    from lms.jobs.queue import make_worker  # noqa: PLC0415

    try:
        worker = make_worker(current_app._get_current_object(), name=name)
        worker.work(burst=burst, logging_level=current_app.config["LMS_SETTINGS"].log_level)
    except RuntimeError as exc:
        click.secho(str(exc), fg="red", err=True)
        sys.exit(2)
    except RedisError as exc:
        click.secho(f"could not reach Redis at LMS_REDIS_URL ({type(exc).__name__}: {exc}). Check that it runs; "
                    "jobs wait in the database meanwhile and `flask jobs run-due` still runs them.", fg="red", err=True)
        sys.exit(2)


@jobs_cli.command("list")
@click.option("--failed", "state", flag_value="failed", help="Jobs that gave up (with their last error).")
@click.option("--done", "state", flag_value="done", help="Recently finished jobs.")
@click.option("--open", "state", flag_value="open", default=True, help="Waiting or running jobs (default).")
@click.option("--limit", default=100, show_default=True)
def jobs_list(state: str, limit: int) -> None:
    """List jobs: id, kind, attempts, when, and the last error."""
    jobs = list_jobs(get_db(), state, limit)
    for job in jobs:
        when = {"open": job.run_after, "failed": job.failed_at, "done": job.done_at}[state]
        claim = f"\tclaimed by {job.claimed_by}" if state == "open" and job.claimed_by else ""
        error = (job.last_error or "").splitlines()[0][:200] if job.last_error else ""
        click.echo(f"{job.id}\t{job.kind}\t{job.attempts}/{job.max_attempts}\t{when:%Y-%m-%d %H:%M:%S}{claim}"
                   + (f"\t{error}" if error else ""))
    click.echo(f"{len(jobs)} {state} job(s)", err=True)


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def jobs_retry(job_id: int) -> None:
    """Give a failed job a fresh set of attempts (after fixing what made it fail)."""
    db = get_db()
    if not retry_failed(db, job_id):
        db.rollback()
        click.secho(f"job {job_id} is not a failed job; see `flask jobs list --failed`", fg="red", err=True)
        sys.exit(1)
    db.commit()
    click.echo(f"job {job_id} will run at the next `flask jobs run-due`")
