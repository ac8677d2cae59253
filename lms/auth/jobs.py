"""Background jobs of accounts: ``periodic.auth.prune_sessions`` runs daily (at 03:40 UTC) and deletes
the login sessions that can no longer log anyone in (ended, or older than the session lifetime)."""

from __future__ import annotations

from datetime import datetime, timedelta

from lms.auth.services import prune_sessions
from lms.jobs import JobContext, periodic


@periodic("auth.prune_sessions", every=timedelta(days=1), offset=timedelta(hours=3, minutes=40))
def prune_login_sessions(ctx: JobContext, period_start: datetime) -> None:
    prune_sessions(ctx.db, ctx.now)
