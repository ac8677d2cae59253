"""The capstone pages' paths, written out rather than built with ``url_for``.

Emails are composed outside a request (in jobs), and the grader queue links every entry: ``url_for``
costs tens of microseconds a link, a large share of that page. tests/capstones/test_views.py checks
that these stay equal to what the routes in views.py build.
"""

from __future__ import annotations

from urllib.parse import quote


def capstone_path(course_slug: str) -> str:
    return f"/courses/{quote(course_slug)}/capstone"


def submissions_prefix(course_slug: str) -> str:
    """What every submission's path in the course starts with (the queue appends ids to it)."""
    return f"{capstone_path(course_slug)}/submissions/"


def submission_path(course_slug: str, submission_id: int) -> str:
    return f"{submissions_prefix(course_slug)}{int(submission_id)}"
