"""Counts per calendar week (Monday 00:00 UTC), computed by the database in one statement.

The week of each row is a CASE over the week boundaries, computed here, rather than a date function
(``date_trunc`` on PostgreSQL, ``strftime`` on SQLite), so the weeks are the same UTC Mondays on both
databases and the range condition on the timestamp can use an index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from lms.db import utcnow

WEEKS = 8  # the default: eight columns fit a phone-wide chart


@dataclass(frozen=True)
class WeekCount:
    start: date  # the Monday (UTC) the week begins
    count: int
    current: bool = False  # this week, still running

    @property
    def label(self) -> str:
        """"7 Dec": short enough for eight columns of a phone-wide chart."""
        return f"{self.start.day} {self.start:%b}"


def week_starts(now: datetime, weeks: int = WEEKS) -> list[datetime]:
    """The Mondays 00:00 UTC that begin the last ``weeks`` weeks, oldest first; the last one is this week's."""
    now = now.astimezone(UTC)
    monday = datetime(now.year, now.month, now.day, tzinfo=UTC) - timedelta(days=now.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def count_per_week(db: Session, column, *conditions, now: datetime | None = None,
                   weeks: int = WEEKS) -> tuple[WeekCount, ...]:
    """How many rows have ``column`` (a UTC timestamp) in each of the last ``weeks`` calendar weeks, in
    one statement. An index on ``column`` (with ``conditions``' columns before it, e.g. (grader_id,
    graded_at)) serves the range; a row exactly on a boundary belongs to the later week."""
    starts = week_starts(now or utcnow(), weeks)
    end = starts[-1] + timedelta(weeks=1)
    week = case(*[(column >= start, n) for n, start in reversed(list(enumerate(starts)))], else_=0)
    rows = select(week.label("week")).where(column >= starts[0], column < end, *conditions).subquery()
    # Grouped in an outer query: PostgreSQL will not match a GROUP BY on a CASE with bound values.
    counts = dict(db.execute(select(rows.c.week, func.count()).group_by(rows.c.week)).all())
    return tuple(WeekCount(start.date(), counts.get(n, 0), current=n == weeks - 1) for n, start in enumerate(starts))
