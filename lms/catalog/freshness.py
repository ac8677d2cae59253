"""Course freshness: course.yml's ``reviewed_on`` and ``review_every`` (months) say when a course's
content is due for review again. The catalog shows "last reviewed"; the admin overview and the
instructors' course list flag the courses past that date.
"""

from __future__ import annotations

import calendar
from datetime import date

from sqlalchemy import and_, extract

from lms.catalog.models import Course


def review_due(reviewed_on: date, every_months: int) -> date:
    """The day a course's next review is due: ``reviewed_on`` plus ``every_months`` calendar months,
    the day clamped to the end of a shorter month (31 January + 1 month = 28 or 29 February)."""
    month_index = reviewed_on.month - 1 + every_months
    year, month = reviewed_on.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(reviewed_on.day, calendar.monthrange(year, month)[1]))


def is_overdue(reviewed_on: date | None, every_months: int | None, today: date) -> bool:
    return reviewed_on is not None and every_months is not None and review_due(reviewed_on, every_months) < today


def overdue_condition(today: date):
    """SQL for ``is_overdue(Course.reviewed_on, Course.review_every_months, today)``, the same on every database.

    Months are counted as ``year * 12 + month``: the review is overdue when (due month, review day)
    comes before (this month, today) — which is exactly "due date < today" with the clamping of
    ``review_due``, since today's day never exceeds the length of this month. ``extract`` is
    spelled by SQLAlchemy for each backend (``EXTRACT`` on PostgreSQL, ``strftime`` on SQLite).
    """
    reviewed = Course.reviewed_on
    due = ((extract("year", reviewed) * 12 + extract("month", reviewed) + Course.review_every_months) * 100
           + extract("day", reviewed))
    return and_(reviewed.is_not(None), Course.review_every_months.is_not(None),
                due < (today.year * 12 + today.month) * 100 + today.day)
