"""The admin overview: exact figures on a known dataset, the review-due rule the same in SQL and
Python on both databases, and statements that do not grow with the data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from lms.admin import services
from lms.auth.models import User
from lms.catalog import freshness
from lms.catalog.models import Course
from lms.credentials.models import Credential
from lms.enrollments.models import Enrollment
from tests.capstones.conftest import FULL_MARKS, capstone_setup  # noqa: F401 (a fixture)
from tests.capstones.test_dashboard import waiting
from tests.credentials.conftest import grade

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)  # a Wednesday; the week began on Monday 7 December


def _set(db, model, row_id, **values):
    db.execute(update(model).where(model.id == row_id).values(**values))
    db.commit()


def test_the_figures_are_exact(db, admin, make_user, make_course, enroll, capstone_setup):  # noqa: F811
    # Accounts: the admin, 4 learners (one created 10 days ago), a deleted one. Enrollments in two courses.
    course_a, course_b = make_course("course-a"), make_course("course-b")
    ann, bob, cat, dan = (make_user(f"{name}@example.com") for name in ("ann", "bob", "cat", "dan"))
    gone = make_user("gone@example.com")
    for user in (admin, ann, bob, cat, dan, gone):
        _set(db, User, user.id, created_at=NOW - timedelta(days=2))
    _set(db, User, dan.id, created_at=NOW - timedelta(days=10))
    _set(db, User, gone.id, deleted_at=NOW - timedelta(days=1))
    activity = {(ann, course_a): 1, (ann, course_b): 2, (bob, course_a): 6, (cat, course_a): 8, (gone, course_a): 1}
    enrollments = []
    for (user, course), days in activity.items():
        enrollments.append(enroll(user, course).id)
        _set(db, Enrollment, enrollments[-1], last_activity_at=NOW - timedelta(days=days))
    # Credentials: two learners of a capstone course, issued this week and three weeks back.
    first = capstone_setup(slug="cred-one", learner_email="eve@example.com")
    second = capstone_setup(slug="cred-two", learner_email="fay@example.com")
    grade(db, first, FULL_MARKS)
    grade(db, second, FULL_MARKS)
    issued = db.scalars(select(Credential.id).order_by(Credential.id)).all()
    assert len(issued) == 2
    _set(db, Credential, issued[0], issued_at=NOW - timedelta(hours=3))
    _set(db, Credential, issued[1], issued_at=datetime(2026, 11, 16, 9, tzinfo=UTC))
    # The grading backlog: two waiting (one since 5 days), one being graded.
    waiting(db, make_user, first, NOW - timedelta(days=5, hours=1))
    waiting(db, make_user, second, NOW - timedelta(hours=2))
    waiting(db, make_user, second, NOW - timedelta(days=9), claimed_by=second.grader,
            claim_expires_at=NOW + timedelta(minutes=10))
    # Everything the capstone setups created (9 accounts, 5 enrollments) is a month old.
    db.execute(update(User).where(User.id.not_in([admin.id, ann.id, bob.id, cat.id, dan.id, gone.id]))
               .values(created_at=NOW - timedelta(days=30)))
    db.execute(update(Enrollment).where(Enrollment.id.not_in(enrollments))
               .values(last_activity_at=NOW - timedelta(days=30)))
    db.commit()
    # Reviews: course-a overdue (reviewed a year and a day ago, every 12 months), course-b due today (not overdue).
    _set(db, Course, course_a.id, reviewed_on=date(2025, 12, 8), review_every_months=12)
    _set(db, Course, course_b.id, reviewed_on=date(2025, 12, 9), review_every_months=12)
    for setup in (first, second):
        _set(db, Course, setup.course.id, reviewed_on=date(2026, 11, 1))

    board = services.overview(db, NOW)
    assert board.users == 14  # 6 of this test but the deleted one, and the capstone setups' 9
    assert board.new_users == 4  # admin, ann, bob, cat (dan: 10 days ago; gone: deleted)
    assert board.active_learners == 2  # ann (in two courses, counted once), bob; not cat (8 days), not gone
    assert board.enrollments == 10  # 5 here (the deleted account's included), 2 + 3 of the capstone setups
    assert (board.waiting, board.in_review, board.oldest_waiting) == (2, 1, "5 days")
    assert [w.count for w in board.credential_weeks] == [0, 0, 0, 0, 1, 0, 0, 1]
    assert board.credential_weeks[4].start == date(2026, 11, 16) and board.credentials_issued == 2
    assert [c.slug for c in board.overdue] == ["course-a"] and board.overdue[0].due == date(2026, 12, 8)


def test_the_counts_against_a_fixed_dataset_of_users_only(db, admin, make_user, make_course, enroll):
    """A smaller dataset whose every figure is written down."""
    course = make_course("only-course")
    users = [make_user(f"u{n}@example.com") for n in range(3)]
    for user in (admin, *users):
        _set(db, User, user.id, created_at=NOW - timedelta(days=20))
    _set(db, User, users[0].id, created_at=NOW - timedelta(days=6, hours=23))
    for n, user in enumerate(users):
        _set(db, Enrollment, enroll(user, course).id, last_activity_at=NOW - timedelta(days=4 * n))
    board = services.overview(db, NOW)
    assert (board.users, board.new_users, board.active_learners, board.enrollments) == (4, 1, 2, 3)
    assert (board.waiting, board.in_review, board.oldest_waiting) == (0, 0, None)
    assert board.credentials_issued == 0 and board.overdue == ()


@pytest.mark.parametrize(("reviewed", "months", "due"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2025, 12, 15), 1, date(2026, 1, 15)),
    (date(2025, 3, 31), 11, date(2026, 2, 28)),
    (date(2025, 8, 31), 18, date(2027, 2, 28)),
    (date(2026, 5, 1), 12, date(2027, 5, 1)),
])
def test_review_due_adds_calendar_months(reviewed, months, due):
    assert freshness.review_due(reviewed, months) == due


def test_the_sql_overdue_rule_agrees_with_python(db, make_course):
    course = make_course("dated-course")
    samples = [(date(2026, 1, 31), 1), (date(2024, 1, 31), 1), (date(2025, 12, 15), 1), (date(2025, 3, 31), 11),
               (date(2025, 12, 9), 12), (date(2026, 11, 30), 3)]
    todays = [date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 1), date(2024, 2, 29), date(2024, 3, 1),
              date(2026, 1, 15), date(2026, 1, 16), date(2026, 12, 9), date(2026, 12, 10), date(2027, 2, 28),
              date(2027, 3, 1)]
    for reviewed, months in samples:
        _set(db, Course, course.id, reviewed_on=reviewed, review_every_months=months)
        for today in todays:
            in_sql = db.scalar(select(Course.id).where(Course.id == course.id, freshness.overdue_condition(today)))
            assert (in_sql is not None) == freshness.is_overdue(reviewed, months, today), (reviewed, months, today)
    _set(db, Course, course.id, reviewed_on=None)
    assert db.scalar(select(Course.id).where(freshness.overdue_condition(date(2099, 1, 1)))) is None
    assert not freshness.is_overdue(None, 12, date(2099, 1, 1))


def test_the_page(db, as_admin, make_course):
    course = make_course("late-course")
    _set(db, Course, course.id, reviewed_on=date(2020, 1, 1))
    page = as_admin.client.get("/admin").get_data(as_text=True)
    assert re.search(r"Accounts</span> 1<", page)
    assert "Late Course</a></th><td>1 January 2020</td><td>1 January 2021 (every 12 months)" in page
    # No credential issued yet: no chart of zeros, the table says it.
    assert 'role="img"' not in page and '<caption id="credentials-caption">' in page
    assert "0 credentials issued in the last 8 weeks" in page
    for link in ("/admin/users", "/admin/courses", "/grading/dashboard"):
        assert f'href="{link}"' in page


def _statements(client, count_queries) -> int:
    client.get("/admin")
    with count_queries() as counter:
        assert client.get("/admin").status_code == 200
    return counter.count


def test_the_statements_do_not_grow_with_the_data(db, as_admin, make_user, make_course, enroll,
                                                  capstone_setup, count_queries):  # noqa: F811
    setup = capstone_setup(slug="counted-course")
    grade(db, setup, FULL_MARKS)
    small = _statements(as_admin.client, count_queries)
    for n in range(10):
        course = make_course(f"more-{n}")
        _set(db, Course, course.id, reviewed_on=date(2020, 1, 1))
        enroll(make_user(f"more{n}@example.com"), course)
    for n in range(3):
        other = capstone_setup(slug=f"graded-{n}", learner_email=f"graded{n}@example.com")
        grade(db, other, FULL_MARKS)
        waiting(db, make_user, other, datetime.now(UTC) - timedelta(days=n))
    page = as_admin.client.get("/admin").get_data(as_text=True)
    assert page.count("(every 12 months)") == 10
    assert 'role="img" aria-labelledby="credentials-chart-title credentials-chart-desc"' in page
    assert "This week so far: 4 issued." in page
    assert _statements(as_admin.client, count_queries) == small
    assert small <= 5
