"""Demo capstone submissions for `make run`: one in every state, so the grader queue, the grading
screen and the learner's page all have something real to show. Idempotent (a learner who already
has a submission of a capstone is left alone). Development only: called from lms/demo.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.capstones import services
from lms.capstones.models import Submission
from lms.catalog.models import Course
from lms.db import utcnow
from lms.enrollments import services as enrollments
from lms.errors import NotFound


@dataclass(frozen=True)
class DemoSubmission:
    email: str
    course: str
    # The story of the capstone, one step per version: "submitted", "in_review", or an outcome
    # reached with "high" or "low" scores ("draft" leaves the last version unsubmitted).
    story: tuple[str, ...]
    days_ago: float
    share: bool = False


DEMO_SUBMISSIONS = [
    DemoSubmission("sam@example.com", "python-data-analysis", ("passed",), 9, share=True),
    DemoSubmission("learner@example.com", "python-data-analysis", ("needs_revision",), 4),
    DemoSubmission("learner@example.com", "web-accessibility-essentials", ("draft",), 1),
    DemoSubmission("priya@example.com", "python-data-analysis", ("submitted",), 3),
    DemoSubmission("mei@example.com", "web-accessibility-essentials", ("submitted",), 2.2),
    # Two years ago, before the credential it earned (issued 24 months less 20 days ago, so it expires
    # soon: lms/credentials/demo.py).
    DemoSubmission("amara@example.com", "web-accessibility-essentials", ("passed",), 725),
    DemoSubmission("jonas@example.com", "sql-fundamentals", ("in_review",), 1.5),
    DemoSubmission("tom@example.com", "sql-fundamentals", ("needs_revision", "not_passed"), 8),
    DemoSubmission("lucas@example.com", "sql-fundamentals", ("submitted",), 0.3),
    DemoSubmission("sam@example.com", "sql-fundamentals", ("needs_revision", "submitted"), 6),
    # Passed, and the credential it earned is revoked (lms/credentials/demo.py).
    DemoSubmission("noah@example.com", "sql-fundamentals", ("passed",), 10),
]

# New demo learners these submissions need, beyond lms/demo.py's people: (email, name).
DEMO_CAPSTONE_LEARNERS = [
    ("priya@example.com", "Priya Shah"),
    ("amara@example.com", "Amara Diallo"),
    ("jonas@example.com", "Jonas Berg"),
    ("tom@example.com", "Tom Novak"),
    ("noah@example.com", "Noah Fischer"),
]

WRITE_UPS = {
    "python-data-analysis": """## Summary

Members make most weekday trips, between 7 and 9 in the morning and 5 and 7 in the evening, from the
three stations near the railway; casual riders ride longer at weekends around the park. I recommend
four more docks at Central Station and a weekend-to-membership offer for casual riders.

## Data and inspection

144 trips and 8 stations. Five trips end before they start, two are duplicates, and one station name
is spelled two ways.

## Cleaning log

1. Dropped 2 duplicate trip ids (144 -> 142).
2. Dropped 5 trips with negative duration (142 -> 137).
3. Unified "Central Stn" to "Central Station" (6 rows changed).

## Analysis

Median trip: 11 minutes for members, 23 for casual riders.

## Limitations and next steps

Two weeks in May is not the whole year; I would check the summer months before buying docks.
""",
    "web-accessibility-essentials": """## Summary

I audited the booking flow of the community centre's site with keyboard, screen reader (NVDA) and
axe. The most serious problems: the date picker cannot be reached by keyboard, and form errors are
shown only in red.

## Findings

1. Date picker: not focusable (WCAG 2.1.1 Keyboard). Fix: use native date inputs.
2. Errors by colour only (1.4.1 Use of Color). Fix: add text and aria-describedby.
3. Missing page language (3.1.1). Fix: `<html lang="en">`.

## Testing method

Keyboard only, NVDA 2025.3 with Firefox, axe DevTools, and 400% zoom.
""",
    "sql-fundamentals": """## Summary

Queries for the library's monthly report: loans per branch, overdue items, and the top borrowers,
with window functions for the running totals.

## Queries

```sql
SELECT branch, count(*) AS loans FROM loans GROUP BY branch ORDER BY loans DESC;
```

## Results

Central branch lends twice as much as the next one; 31 items are more than 30 days overdue.
""",
}

LINKS = {
    "python-data-analysis": ["https://github.com/demo-learner/bike-share-analysis"],
    "web-accessibility-essentials": ["https://codeberg.org/demo-learner/booking-audit"],
    "sql-fundamentals": ["https://github.com/demo-learner/library-sql"],
}

FEEDBACK = {
    "high": "Clear, well organised and convincing. The recommendations follow from the evidence.",
    "low": "A good start. Make each step reproducible and explain how each finding follows from the data; "
           "the rubric comments say where.",
}


def _scores(capstone, quality: str) -> dict[str, float]:
    """Top levels for "high". For "low": the level above the bottom, the bottom for required
    criteria, and the bottom everywhere if that still met the pass rule."""
    from lms.capstones.rubric import evaluate  # noqa: PLC0415

    if quality == "high":
        return {c.key: c.levels[-1].points for c in capstone.rubric}
    scores = {c.key: c.levels[0 if c.required else 1].points for c in capstone.rubric}
    if evaluate(capstone, scores).meets_pass_rule:
        scores = {c.key: c.levels[0].points for c in capstone.rubric}
    return scores


def _attach_demo_file(db: Session, store, enrollment_id: int, record, course_slug: str) -> None:
    rule = record.capstone.deliverables.files
    if rule is None or store is None:
        return
    text_types = [t for t in ("md", "txt", "sql", "csv", "py") if t in rule.types]
    if not text_types:
        return
    extension = text_types[0]
    content = WRITE_UPS[course_slug] if extension in ("md", "txt") else "-- demo\nSELECT 1;\n" \
        if extension == "sql" else "id,value\n1,2\n" if extension == "csv" else "print('demo')\n"
    services.add_file(db, store, enrollment_id, record, io.BytesIO(content.encode()), f"notes.{extension}")


def load_demo_capstones(db: Session, graders: dict[str, int], store=None) -> int:
    """Create the demo submissions; returns how many capstones were added. ``graders``: course slug
    -> the user id who grades the demo submissions."""
    from lms.auth.models import User  # noqa: PLC0415

    courses = {c.slug: c for c in db.scalars(select(Course).where(Course.retired_at.is_(None)))}
    users = {u.email: u for u in db.scalars(select(User))}
    added = 0
    for demo in DEMO_SUBMISSIONS:
        course, user, grader_id = courses.get(demo.course), users.get(demo.email), graders.get(demo.course)
        if course is None or user is None or grader_id is None:
            continue
        try:
            record = services.live_capstone(db, course.id)
        except NotFound:
            continue
        enrollment = enrollments.enroll(db, user.id, course)
        if db.scalar(select(Submission.id).where(Submission.enrollment_id == enrollment.id)) is not None:
            continue
        moment = utcnow() - timedelta(days=demo.days_ago)
        for number, step in enumerate(demo.story):
            if number == 0:
                services.save_draft(db, enrollment.id, record, WRITE_UPS[demo.course], LINKS[demo.course], moment)
                _attach_demo_file(db, store, enrollment.id, record, demo.course)
            else:
                services.start_revision(db, enrollment.id, record, moment)
                services.save_draft(db, enrollment.id, record, WRITE_UPS[demo.course] + "\n(Revised after review.)\n",
                                    LINKS[demo.course], moment)
            if step == "draft":
                break
            db.flush()
            submission = services.submit(db, enrollment.id, record, moment)
            if step == "submitted":
                break
            services.claim(db, submission.id, grader_id, moment + timedelta(hours=2))
            if step == "in_review":
                # A claim made now, so it is live when the demo is opened.
                services.release(db, submission.id, grader_id)
                services.claim(db, submission.id, grader_id)
                break
            quality = "high" if step == "passed" else "low"
            services.grade(db, submission.id, grader_id,
                           services.Grading(_scores(record.capstone, quality), {}, FEEDBACK[quality], outcome=step),
                           can_override=False, now=moment + timedelta(hours=3))
            if demo.share and step == "passed":
                services.share(db, db.get(Submission, submission.id), user.id, moment + timedelta(days=1))
            moment += timedelta(days=2)
        added += 1
    return added
