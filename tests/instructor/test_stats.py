"""The course dashboard's figures (lms/instructor/stats.py) are exact, and computing them costs a fixed
number of statements however many learners the course has."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from lms.capstones.models import Review, Submission
from lms.catalog.services import get_outline
from lms.instructor import stats
from tests.capstones.conftest import FULL_MARKS, graded, submitted
from tests.instructor.conftest import LEARNERS, NOW, add_learners


def test_learners_funnel_and_quizzes_are_exact(db, taught):
    course = taught().course
    data = stats.compute(db, get_outline(db, course), NOW)
    assert data["steps"] == 5
    assert data["learners"] == {"total": 6, "credential_track": 6, "active_7d": 2, "at_risk": 3}
    assert [(m["number"], m["steps"], m["completed"]) for m in data["funnel"]] == [(1, 3, 1), (2, 2, 2)]
    [quiz] = data["quizzes"]
    # Two submitted attempts (100% and 0%), two learners attempted, one passed.
    assert (quiz["attempts"], quiz["facility"], quiz["learners"], quiz["passed"], quiz["pass_rate"]) == (2, 50.0, 2, 1,
                                                                                                        50.0)
    assert data["capstone"] is None
    # The course's credential asks for its quizzes passed: a earned it this week.
    assert (data["credentials"]["issued"], data["credentials"]["current"]) == (1, 1)
    assert data["credentials"]["weeks"] == [0] * (stats.WEEKS - 1) + [1]


def test_enrollments_per_week_use_utc_mondays(db, taught):
    course = taught().course
    data = stats.compute(db, get_outline(db, course), NOW)
    weeks = dict(zip(data["weeks"], data["enrolled"], strict=True))
    assert len(weeks) == stats.WEEKS and data["weeks"][-1] == "2026-12-07"
    # a: 8 Dec (this week); b, c: 1 Dec; e, f: 18 Nov (the week of 16 Nov); d: 100 days ago, outside.
    assert weeks == {**{k: 0 for k in weeks}, "2026-12-07": 1, "2026-11-30": 2, "2026-11-16": 2}


def test_the_at_risk_rule_matches_its_python_twin(db, taught):
    """The SQL conditions select exactly the learners ``is_at_risk`` names (14 idle days is at risk)."""
    setup = taught()
    outline = get_outline(db, setup.course)
    for name, (done, answers, _enrolled, idle) in LEARNERS.items():
        steps = len(done) + (1 if answers and answers[-1] else 0)
        assert stats.is_at_risk(steps, len(outline.steps), NOW - timedelta(days=idle), NOW) is (name in {"b", "c", "f"})
    assert stats.compute(db, outline, NOW)["learners"]["at_risk"] == 3


def test_capstone_outcomes_and_time_to_grade(db, capstone_setup):
    setup = capstone_setup()
    first = submitted(db, setup)
    review = graded(db, setup, first, FULL_MARKS)
    # Graded exactly 26 hours after submission.
    db.execute(update(Submission).where(Submission.id == first.id).values(submitted_at=NOW - timedelta(hours=30)))
    db.execute(update(Review).where(Review.id == review.id).values(graded_at=NOW - timedelta(hours=4)))
    db.commit()
    data = stats.compute(db, get_outline(db, setup.course), NOW)
    capstone = data["capstone"]
    assert capstone["states"]["passed"] == 1 and sum(capstone["states"].values()) == 1
    assert (capstone["graded"], capstone["mean_hours"], capstone["median_hours"]) == (1, 26.0, 26.0)


def _statements(db, count_queries, outline) -> int:
    with count_queries() as counter:
        stats.compute(db, outline, NOW)
    return len(counter.statements)


def test_computing_costs_the_same_statements_at_two_sizes(db, taught, count_queries, make_user, enroll):
    setup = taught(learners={"a": ([], [], 1, 1)})
    outline = get_outline(db, setup.course)
    small = _statements(db, count_queries, outline)
    add_learners(db, make_user, enroll, setup,
                 {f"x{n}": (["1.1", "2.1"][: n % 3], [n % 2 == 0], n, n) for n in range(30)})
    assert _statements(db, count_queries, outline) == small
    assert small <= 8
