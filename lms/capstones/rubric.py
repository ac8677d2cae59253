"""Scoring a capstone against its rubric, and the outcome the pass rule suggests. Pure Python.

A grader picks one level per criterion; its points are the score. The pass rule holds when every
criterion is scored, the total reaches ``pass.min_points`` (when set) and every required criterion
reaches its own ``min_points``. The grader's outcome may differ only where services allow it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from lms.content.capstone import Capstone, add_points, as_number

OUTCOMES = ("passed", "needs_revision", "not_passed")


@dataclass(frozen=True)
class RubricResult:
    points: float  # the total of the scores given
    max_points: float
    meets_pass_rule: bool
    unmet: tuple[str, ...]  # why the rule is not met, one reason each: "Cleaning log: 1 point, needs 2"
    missing: tuple[str, ...]  # titles of the criteria with no score yet, in rubric order


def _points(value: float) -> str:
    value = as_number(value)
    return f"{value:g} point" + ("" if value == 1 else "s")


def evaluate(capstone: Capstone, scores: Mapping[str, float | None]) -> RubricResult:
    """Total the scores (criterion key -> points) and test them against the pass rule.

    A score must be the points of one of its criterion's levels; a key that names no criterion, or
    points no level has, raises ValueError with a message fit for the grader. A criterion left out
    (or given None) is reported in ``missing`` and the rule is then not met; the total is not judged
    until every criterion is scored, since the missing ones could still make it.
    """
    by_key = {c.key: c for c in capstone.rubric}
    unknown = sorted(key for key in scores if key not in by_key)
    if unknown:
        raise ValueError(f"This rubric has no criterion {', '.join(unknown)}.")
    given: dict[str, float] = {}
    for criterion in capstone.rubric:
        score = scores.get(criterion.key)
        if score is None:
            continue
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score) \
                or criterion.level_for(score) is None:
            allowed = ", ".join(f"{level.points:g}" for level in criterion.levels)
            raise ValueError(f"{criterion.title}: {score!r} is not one of its levels; choose {allowed} points.")
        given[criterion.key] = as_number(score)
    missing = tuple(c.title for c in capstone.rubric if c.key not in given)
    points = add_points(given.values())
    unmet: list[str] = []
    for criterion in capstone.rubric:
        score = given.get(criterion.key)
        if criterion.required and score is not None and score < criterion.min_points:
            unmet.append(f"{criterion.title}: {_points(score)}, needs {criterion.min_points:g}")
    rule = capstone.pass_rule.min_points
    if not missing and rule is not None and Decimal(str(points)) < Decimal(str(rule)):
        unmet.append(f"Total: {_points(points)}, needs {rule:g}")
    return RubricResult(points=points, max_points=capstone.max_points, meets_pass_rule=not missing and not unmet,
                        unmet=tuple(unmet), missing=missing)


def suggested_outcome(result: RubricResult, revision_number: int, max_revisions: int) -> str:
    """"passed" when the rule is met; otherwise "needs_revision" while revisions remain, else "not_passed".

    ``revision_number`` is the submission's version: 1 for the first hand-in, 2 for the first revision,
    so revisions remain while ``revision_number - 1 < max_revisions``.
    """
    if revision_number < 1:
        raise ValueError("revision_number counts from 1 (the first submission)")
    if result.missing:
        raise ValueError("no outcome can be suggested before every criterion has a score: "
                         + ", ".join(result.missing))
    if result.meets_pass_rule:
        return "passed"
    if revision_number - 1 < max_revisions:
        return "needs_revision"
    return "not_passed"
