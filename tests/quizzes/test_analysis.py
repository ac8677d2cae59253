"""Item analysis against a hand-computed fixture, and through real attempts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from lms.quizzes.analysis import Observation, compute, cronbach_alpha, pearson, quiz_statistics, to_csv

# Four attempts at three one-point questions (1 = right, 0 = wrong):
#            q1 q2 q3  total  percent
#   a1        1  1  0      2   66.67
#   a2        1  0  0      1   33.33
#   a3        0  0  0      0    0
#   a4        1  1  1      3  100
# By hand:
#   facility: q1 3/4 = 75%, q2 2/4 = 50%, q3 1/4 = 25%
#   discrimination (r of item score with total minus the item, x100):
#     q1: scores 1,1,0,1 vs rest 1,0,0,2 -> sxy .75, sxx .75, syy 2.75 -> .75/sqrt(2.0625) = 52.22
#     q2: scores 1,0,0,1 vs rest 1,1,0,2 -> sxy 1, sxx 1, syy 2 -> 1/sqrt(2) = 70.71
#     q3: scores 0,0,0,1 vs rest 2,1,0,2 -> sxy .75, sxx .75, syy 2.75 -> 52.22
#   percents: mean 50, median 50, sample sd sqrt(5555.56/3) = 43.03
#   alpha: item variances .25 + .3333 + .25 = .8333; variance of totals 5/3 = 1.6667;
#          3/2 * (1 - .8333/1.6667) = 0.75
SCORES = {1: (1, 1, 0), 2: (1, 0, 0), 3: (0, 0, 0), 4: (1, 1, 1)}


def _fixture():
    versions = {qid: SimpleNamespace(id=qid, key=f"q{qid}", version=1, type="single", points=1.0, position=qid,
                                     spec={"name": f"Question {qid}"}) for qid in (1, 2, 3)}
    observations = [Observation(a, qid + 1, float(score), None)
                    for a, row in SCORES.items() for qid, score in enumerate(row)]
    totals = {a: float(sum(row)) for a, row in SCORES.items()}
    percents = {a: 100 * total / 3 for a, total in totals.items()}
    return compute(percents, totals, observations, versions, lambda version, responses: [])


def test_hand_computed_fixture():
    stats = _fixture()
    q1, q2, q3 = stats.questions
    assert [q.facility for q in (q1, q2, q3)] == [75, 50, 25]
    assert q1.discrimination == pytest.approx(52.2233, abs=1e-3)
    assert q2.discrimination == pytest.approx(70.7107, abs=1e-3)
    assert q3.discrimination == pytest.approx(52.2233, abs=1e-3)
    assert stats.mean == pytest.approx(50) and stats.median == pytest.approx(50)
    assert stats.sd == pytest.approx(43.0331, abs=1e-3)
    assert stats.alpha == pytest.approx(0.75)
    assert stats.attempts == 4 and q1.attempts == 4


def test_edge_cases():
    assert pearson([1.0], [2.0]) is None
    assert pearson([1.0, 1.0], [0.0, 1.0]) is None  # no variance: undefined, not a crash
    assert cronbach_alpha([[1.0, 1.0], [1.0, 1.0]]) is None
    assert cronbach_alpha([[1.0, 0.0]]) is None  # one item


def test_csv_has_a_row_per_question_and_the_summary():
    text = to_csv(_fixture())
    lines = text.strip().splitlines()
    assert lines[0].startswith("question,key,version,type,points,attempts,facility_percent")
    assert lines[1].startswith("Question 1,q1,1,single,1.0,4,75.00,52.22")
    assert lines[-1] == "4,50.00,50.00,43.03,0.7500"


def test_statistics_from_real_attempts(db, quiz_setup):
    from lms.db import utcnow
    from lms.quizzes import services
    from tests.quizzes.test_services import _responses

    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, attempt, _responses(db, attempt), utcnow())
    services.submit_attempt(db, attempt.id, utcnow())
    second = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, second, _responses(db, second, right=False), utcnow())
    services.submit_attempt(db, second.id, utcnow())
    db.commit()
    stats = quiz_statistics(db, setup.item.id)
    assert stats.attempts == 2 and stats.mean == pytest.approx(50)
    single = next(q for q in stats.questions if q.type == "single")
    assert single.facility == 50 and single.attempts == 2
    assert [n for _label, n in single.options] == [1, 1, 0]
    short = next(q for q in stats.questions if q.type == "short")
    assert dict(short.options) == {"paris": 1, "lyon": 1}
