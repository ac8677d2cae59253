"""Background jobs of the course dashboard: refreshing a course's summary (lms/instructor/models.py CourseStats).

- ``instructor.refresh_course_stats`` ({"course_id": N}) recomputes one course's snapshot. The dashboard
  queues it when the snapshot it read is older than ``services.FRESH_FOR`` (and none is pending); it
  runs after the request when jobs run inline (development), else from ``flask jobs run-due`` (cron).
- ``periodic.instructor.refresh_stats`` runs hourly (at minute 17) and queues that job for every live
  course with learners whose snapshot is older than ``PERIODIC_OLDER_THAN`` (or missing), one job per
  course so a failure is retried alone. So an instructor who opens a dashboard after a quiet day sees
  figures at most about an hour old at once, and the at-risk count stays recent without anyone looking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lms.instructor import services
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
