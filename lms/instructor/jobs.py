"""Background jobs of the course dashboard: refreshing a course's summary (lms/instructor/models.py CourseStats),
and building and pruning learners' progress exports (lms/instructor/exports.py).

- ``instructor.refresh_course_stats`` ({"course_id": N}) recomputes one course's snapshot. The dashboard
  queues it when the snapshot it read is older than ``services.FRESH_FOR`` (and none is pending); it
  runs after the request when jobs run inline (development), else from ``flask jobs run-due`` (cron).
- ``periodic.instructor.refresh_stats`` runs hourly (at minute 17) and queues that job for every live
  course with learners whose snapshot is older than ``PERIODIC_OLDER_THAN`` (or missing), one job per
  course so a failure is retried alone. So an instructor who opens a dashboard after a quiet day sees
  figures at most about an hour old at once, and the at-risk count stays recent without anyone looking.
- ``instructor.build_course_export`` ({"export_id": N}) writes one export's CSV; ``MAX_ATTEMPTS`` tries,
  the export failing (with its reason) only on the last one (exports.run_export says why).
- ``periodic.instructor.prune_exports`` runs hourly (at minute 41): exports older than seven days go,
  rows and files, and queued exports whose job gave up are marked failed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lms.instructor import exports, services
from lms.jobs import JobContext, enqueue_many, job_handler, periodic

PERIODIC_EVERY = timedelta(hours=1)
PERIODIC_OLDER_THAN = timedelta(minutes=50)


@job_handler(services.REFRESH_JOB, max_attempts=3, backoff=timedelta(minutes=1))
def refresh_course_stats(ctx: JobContext, payload: dict) -> None:
    """Recompute one course's snapshot (nothing for a course that was retired or deleted meanwhile)."""
    services.refresh_course_stats(ctx.db, int(payload["course_id"]), ctx.now)


@periodic("instructor.refresh_stats", every=PERIODIC_EVERY, offset=timedelta(minutes=17))
def refresh_stale_snapshots(ctx: JobContext, period_start: datetime) -> None:
    course_ids = services.courses_to_refresh(ctx.db, ctx.now, PERIODIC_OLDER_THAN)
    enqueue_many(ctx.db, services.REFRESH_JOB, [{"course_id": course_id} for course_id in course_ids])


@job_handler(exports.EXPORT_JOB, max_attempts=exports.MAX_ATTEMPTS, backoff=exports.BACKOFF)
def build_course_export(ctx: JobContext, payload: dict) -> None:
    exports.run_export(ctx.db, ctx.settings.exports_dir, int(payload["export_id"]), ctx.now,
                       last_attempt=ctx.attempt >= exports.MAX_ATTEMPTS)


@periodic("instructor.prune_exports", every=timedelta(hours=1), offset=timedelta(minutes=41))
def prune_exports(ctx: JobContext, period_start: datetime) -> None:
    exports.prune(ctx.db, ctx.settings.exports_dir, ctx.now)
