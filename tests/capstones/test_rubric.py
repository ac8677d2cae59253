"""Scoring against a rubric and the outcome the pass rule suggests (lms/capstones/rubric.py, pure)."""

from __future__ import annotations

import pytest

from lms.capstones.rubric import RubricResult, evaluate, suggested_outcome
from lms.content.capstone import Capstone, Criterion, Deliverables, Level, PassRule


def _criterion(key: str, title: str, points: tuple[float, ...], required: bool = False,
               min_points: float | None = None) -> Criterion:
    return Criterion(key=key, title=title, description="", levels=tuple(Level(p, f"L{p}") for p in points),
                     required=required, min_points=min_points)


def _capstone(min_points: float | None = 6, cleaning_required: bool = True) -> Capstone:
    return Capstone(
        title="T", deliverables=Deliverables("required"), pass_rule=PassRule(min_points), checks={}, max_revisions=2,
        rubric=(
            _criterion("question", "Question", (0, 1, 2)),
            _criterion("cleaning", "Cleaning log", (0, 1, 2, 4), required=cleaning_required,
                       min_points=2 if cleaning_required else None),
            _criterion("charts", "Charts", (0, 2, 4)),
        ),
    )


def test_full_marks_meet_the_rule():
    result = evaluate(_capstone(), {"question": 2, "cleaning": 4, "charts": 4})
    assert result == RubricResult(points=10, max_points=10, meets_pass_rule=True, unmet=(), missing=())


def test_a_required_criterion_below_its_minimum_fails_with_enough_points():
    result = evaluate(_capstone(), {"question": 2, "cleaning": 1, "charts": 4})
    assert result.points == 7 and result.points >= 6
    assert not result.meets_pass_rule
    assert result.unmet == ("Cleaning log: 1 point, needs 2",)


def test_too_few_points_in_total():
    result = evaluate(_capstone(), {"question": 0, "cleaning": 2, "charts": 2})
    assert not result.meets_pass_rule and result.unmet == ("Total: 4 points, needs 6",)


def test_both_reasons_are_given():
    result = evaluate(_capstone(), {"question": 0, "cleaning": 0, "charts": 2})
    assert result.unmet == ("Cleaning log: 0 points, needs 2", "Total: 2 points, needs 6")


def test_exactly_at_the_minimums_passes():
    assert evaluate(_capstone(), {"question": 0, "cleaning": 2, "charts": 4}).meets_pass_rule


def test_a_rule_of_required_criteria_only():
    capstone = _capstone(min_points=None)
    assert evaluate(capstone, {"question": 0, "cleaning": 2, "charts": 0}).meets_pass_rule
    assert evaluate(capstone, {"question": 2, "cleaning": 1, "charts": 4}).unmet == ("Cleaning log: 1 point, needs 2",)


def test_missing_scores_are_listed_and_the_rule_is_not_met():
    result = evaluate(_capstone(), {"question": 2, "charts": None})
    assert result.missing == ("Cleaning log", "Charts")
    assert not result.meets_pass_rule and result.points == 2
    assert result.unmet == ()  # the total is not judged while criteria are missing


def test_missing_scores_still_show_a_required_criterion_below_its_minimum():
    result = evaluate(_capstone(), {"cleaning": 1})
    assert result.missing == ("Question", "Charts") and result.unmet == ("Cleaning log: 1 point, needs 2",)


def test_a_score_must_be_one_of_the_levels():
    with pytest.raises(ValueError, match=r"^Charts: 3 is not one of its levels; choose 0, 2, 4 points\.$"):
        evaluate(_capstone(), {"question": 2, "cleaning": 4, "charts": 3})
    for bad in (True, "2", float("nan"), -1):
        with pytest.raises(ValueError, match="Question: "):
            evaluate(_capstone(), {"question": bad})


def test_a_score_for_no_criterion_is_refused():
    with pytest.raises(ValueError, match=r"^This rubric has no criterion analysis\.$"):
        evaluate(_capstone(), {"question": 2, "analysis": 1})


def test_scores_given_as_floats_match_whole_levels():
    result = evaluate(_capstone(), {"question": 2.0, "cleaning": 4.0, "charts": 4.0})
    assert result.points == 10 and isinstance(result.points, int) and result.meets_pass_rule


def test_decimal_points_add_up_as_written():
    capstone = Capstone(title="T", deliverables=Deliverables("required"), pass_rule=PassRule(0.8), checks={},
                        rubric=(_criterion("a", "A", (0, 0.7)), _criterion("b", "B", (0, 0.1))))
    result = evaluate(capstone, {"a": 0.7, "b": 0.1})
    assert result.points == 0.8 and result.meets_pass_rule  # 0.7 + 0.1 in floats is 0.7999999999999999


def test_suggested_outcome():
    met = evaluate(_capstone(), {"question": 2, "cleaning": 4, "charts": 4})
    unmet = evaluate(_capstone(), {"question": 2, "cleaning": 1, "charts": 4})
    assert suggested_outcome(met, 1, 2) == "passed"
    assert suggested_outcome(met, 3, 2) == "passed"  # the last allowed version can still pass
    assert suggested_outcome(unmet, 1, 2) == "needs_revision"
    assert suggested_outcome(unmet, 2, 2) == "needs_revision"
    assert suggested_outcome(unmet, 3, 2) == "not_passed"  # two revisions used
    assert suggested_outcome(unmet, 1, 0) == "not_passed"  # no revisions allowed at all


def test_no_outcome_is_suggested_for_an_incomplete_grading():
    with pytest.raises(ValueError, match="every criterion has a score: Charts"):
        suggested_outcome(evaluate(_capstone(), {"question": 2, "cleaning": 4}), 1, 2)
    with pytest.raises(ValueError, match="counts from 1"):
        suggested_outcome(evaluate(_capstone(), {"question": 2, "cleaning": 4, "charts": 4}), 0, 2)
