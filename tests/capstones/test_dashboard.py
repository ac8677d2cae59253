"""The grader dashboard: queue size, oldest waiting version and versions being graded per course the
grader grades, and their own reviews per week; exact on a known dataset, in statements that do not
grow with the data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from itertools import count

from sqlalchemy import select

from lms.auth.services import grant
from lms.capstones import dashboard
from lms.capstones.models import Review, Submission
from lms.capstones.services import graded_courses
from lms.enrollments.services import enroll
from lms.reports import weeks

_emails = count(1)


def waiting(db, make_user, setup, submitted_at: datetime, *, claimed_by=None, claim_expires_at=None) -> Submission:
    """A version of a new learner's capstone, submitted at ``submitted_at`` (claimed when ``claimed_by``)."""
    learner = make_user(f"waiting{next(_emails)}@example.com", name="Wendy Waiting")
    enrollment = enroll(db, learner.id, setup.course)
    submission = Submission(enrollment_id=enrollment.id, item_id=setup.item.id, course_id=setup.course.id, version=1,
                            state="in_review" if claimed_by else "submitted",
                            capstone_version_id=setup.record(db).version_id, text="Done.", submitted_at=submitted_at,
                            claimed_by_id=claimed_by.id if claimed_by else None, claim_expires_at=claim_expires_at)
    db.add(submission)
    db.commit()
    return submission


def reviewed(db, setup, grader, graded_at: datetime, version: int) -> Review:
    """Version ``version`` of the setup's learner's capstone, passed by ``grader`` at ``graded_at``."""
    version_id = setup.record(db).version_id
    submission = Submission(enrollment_id=setup.enrollment.id, item_id=setup.item.id, course_id=setup.course.id,
                            version=version, state="passed", capstone_version_id=version_id, text="Done.",
                            submitted_at=graded_at - timedelta(hours=1), decided_at=graded_at)
    db.add(submission)
    db.flush()
    review = Review(submission_id=submission.id, grader_id=grader.id, capstone_version_id=version_id, scores={},
                    points=12, max_points=12, meets_rule=True, suggested_outcome="passed", outcome="passed",
                    graded_at=graded_at)
    db.add(review)
    db.commit()
    return review


# A Wednesday noon: this week began on Monday 7 December 2026.
NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)


def test_week_starts_are_utc_mondays():
    starts = weeks.week_starts(NOW)
    assert len(starts) == 8 and starts[-1] == datetime(2026, 12, 7, tzinfo=UTC)
    assert starts[0] == datetime(2026, 10, 19, tzinfo=UTC) and all(s.weekday() == 0 for s in starts)
    # Monday midnight is the start of its week; a minute before belongs to the week before.
    assert weeks.week_starts(datetime(2026, 12, 7, tzinfo=UTC))[-1] == datetime(2026, 12, 7, tzinfo=UTC)
    assert weeks.week_starts(datetime(2026, 12, 6, 23, 59, tzinfo=UTC))[-1] == datetime(2026, 11, 30, tzinfo=UTC)


def test_the_figures_are_exact(db, capstone_setup, make_user):
    mine = capstone_setup(slug="mine-course")
    also = capstone_setup(slug="also-mine", learner_email="also@example.com")
    other = capstone_setup(slug="not-mine", learner_email="other@example.com")
    grader = mine.grader
    grant(db, grader, "instructor", "also-mine")  # graders and instructors both grade
    db.commit()
    colleague = make_user("colleague@example.com")
    waiting(db, make_user, mine, NOW - timedelta(days=3, hours=2))
    waiting(db, make_user, mine, NOW - timedelta(hours=5))
    waiting(db, make_user, mine, NOW - timedelta(days=9), claimed_by=colleague,  # claimed, claim running
            claim_expires_at=NOW + timedelta(minutes=30))
    waiting(db, make_user, mine, NOW - timedelta(days=4), claimed_by=colleague,  # claim ran out: waiting again
            claim_expires_at=NOW - timedelta(minutes=1))
    waiting(db, make_user, also, NOW - timedelta(minutes=20), claimed_by=grader,
            claim_expires_at=NOW + timedelta(hours=1))
    waiting(db, make_user, other, NOW - timedelta(days=30))
    # The grader's reviews: 2 this week, 1 in the week of 30 Nov (on its Monday at midnight), 1 eight weeks
    # back (19 Oct), 1 before the eight weeks; a colleague's review does not count.
    for n, at in enumerate([NOW - timedelta(hours=1), datetime(2026, 12, 7, tzinfo=UTC),
                            datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 10, 19, 8, tzinfo=UTC),
                            datetime(2026, 10, 18, 23, 59, tzinfo=UTC)], start=1):
        reviewed(db, mine, grader, at, n)
    reviewed(db, also, colleague, NOW - timedelta(hours=2), 1)

    board = dashboard.grader_dashboard(db, grader.id, graded_courses(db, grader.id), now=NOW)
    rows = {c.slug: (c.waiting, c.in_review, c.oldest_waiting(NOW)) for c in board.courses}
    assert rows == {"mine-course": (3, 1, "4 days"), "also-mine": (0, 1, None)}
    assert (board.waiting, board.in_review, board.oldest.slug) == (3, 2, "mine-course")
    assert [(w.start, w.count) for w in board.weeks] == [
        (date(2026, 10, 19), 1), (date(2026, 10, 26), 0), (date(2026, 11, 2), 0), (date(2026, 11, 9), 0),
        (date(2026, 11, 16), 0), (date(2026, 11, 23), 0), (date(2026, 11, 30), 1), (date(2026, 12, 7), 2)]
    assert board.graded == 4 and board.weeks[-1].current and not board.weeks[-2].current

    # An admin sees every live course's queue; their own throughput is their own (none).
    admin = make_user("boss@example.com", admin=True)
    board = dashboard.grader_dashboard(db, admin.id, graded_courses(db, admin.id, True), is_admin=True, now=NOW)
    rows = {c.slug: (c.waiting, c.in_review, c.oldest_waiting(NOW)) for c in board.courses}
    assert rows == {"mine-course": (3, 1, "4 days"), "also-mine": (0, 1, None), "not-mine": (1, 0, "30 days")}
    assert board.graded == 0


def test_the_page_shows_only_the_graders_courses(auth, client, db, capstone_setup, make_user):
    mine = capstone_setup(slug="mine-course")
    other = capstone_setup(slug="not-mine", learner_email="other@example.com")
    now = datetime.now(UTC)
    waiting(db, make_user, mine, now - timedelta(days=3, minutes=5))
    waiting(db, make_user, other, now - timedelta(days=8))
    reviewed(db, mine, mine.grader, now - timedelta(minutes=5), 1)
    auth.login(mine.grader.email)
    page = client.get("/grading/dashboard").get_data(as_text=True)
    assert "Mine Course" in page and "Not Mine" not in page
    row = re.search(r"Mine Course.*?</tr>", page, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row) == ["1", "0", "3 days"]
    assert '<a href="/grading?course=mine-course">Mine Course<' in page
    assert 'role="img"' in page and '<title id="graded-chart-title">' in page
    assert re.search(r"\(this week, so far\)</th><td>1</td>", page)
    assert 'href="/grading/dashboard"' in client.get("/grading").get_data(as_text=True)  # linked from the queue


def test_the_page_needs_a_grading_role(auth, client, db, capstone_setup, make_user):
    capstone_setup()
    assert client.get("/grading/dashboard").status_code == 302  # to the login page
    make_user("plain@example.com")
    auth.login("plain@example.com")
    response = client.get("/grading/dashboard")
    assert response.status_code == 403 and "You do not grade any course" in response.get_data(as_text=True)


def test_an_admin_sees_every_course(auth, client, capstone_setup, make_user):
    capstone_setup(slug="first-course")
    capstone_setup(slug="second-course", learner_email="second@example.com")
    make_user("root@example.com", admin=True)
    auth.login("root@example.com")
    page = client.get("/grading/dashboard").get_data(as_text=True)
    assert "First Course" in page and "Second Course" in page and "the queue of every live course" in page


def _statements(client, count_queries) -> int:
    client.get("/grading/dashboard")  # warm per-process caches (graded courses, capstone versions)
    with count_queries() as counter:
        assert client.get("/grading/dashboard").status_code == 200
    return counter.count


def test_the_statements_do_not_grow_with_courses_submissions_or_reviews(auth, client, db, capstone_setup, make_user,
                                                                        count_queries):
    first = capstone_setup(slug="course-0")
    grader = first.grader
    now = datetime.now(UTC)
    waiting(db, make_user, first, now - timedelta(days=1))
    reviewed(db, first, grader, now - timedelta(days=1), 1)
    auth.login(grader.email)
    small = _statements(client, count_queries)
    for n in range(1, 4):
        setup = capstone_setup(slug=f"course-{n}", learner_email=f"more{n}@example.com")
        grant(db, grader, "grader", setup.course.slug)
        db.commit()
        for days in range(3):
            waiting(db, make_user, setup, now - timedelta(days=days, hours=n))
    for n in range(2, 12):
        reviewed(db, first, grader, now - timedelta(days=n * 3), n)
    page = client.get("/grading/dashboard").get_data(as_text=True)
    assert page.count("/grading?course=course-") == 4
    assert _statements(client, count_queries) == small
    assert small <= 5


def test_week_counts_work_for_any_timestamp_column(db, capstone_setup):
    """count_per_week is the admin overview's too: rows exactly on a boundary go to the later week."""
    setup = capstone_setup()
    for n, at in enumerate([datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 11, 29, 23, 59, 59, tzinfo=UTC),
                            datetime(2026, 12, 13, 23, 59, tzinfo=UTC), datetime(2026, 12, 14, tzinfo=UTC)], start=1):
        reviewed(db, setup, setup.grader, at, n)
    counts = {w.start: w.count for w in weeks.count_per_week(db, Review.graded_at, now=NOW)}
    assert counts[date(2026, 11, 30)] == 1 and counts[date(2026, 11, 23)] == 1
    assert counts[date(2026, 12, 7)] == 1  # 14 December (next week) is not counted
    assert db.scalar(select(Review.id).limit(1)) is not None
