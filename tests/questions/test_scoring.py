"""Scoring rules for every question type, with their edge cases."""

from __future__ import annotations

import time

import pytest

from lms.questions.model import (
    Choice,
    Essay,
    FillInBlanks,
    Gap,
    Matching,
    MultipleResponse,
    Numerical,
    NumericAnswer,
    Ordering,
    Pair,
    RichText,
    ShortAnswer,
    SingleChoice,
    TextAnswer,
    TrueFalse,
)
from lms.questions.scoring import problems, regex_problem, score

T = RichText


def test_single_choice():
    q = SingleChoice(T("Pick"), choices=(Choice(T("a"), 1.0, T("yes")), Choice(T("b"), 0.0, T("no")),
                                         Choice(T("c"), 0.5)))
    assert score(q, 0).fraction == 1 and score(q, 0).status == "correct" and score(q, 0).feedback == (T("yes"),)
    assert score(q, 1).status == "incorrect"
    assert score(q, 2).fraction == 0.5 and score(q, 2).status == "partial"
    assert score(q, 9).status == "unanswered"  # out of range: never an error
    assert score(q, None).status == "unanswered"


def test_multiple_response_clips_above_100_and_never_below_zero():
    q = MultipleResponse(T("Pick"), choices=(Choice(T("a"), 0.5), Choice(T("b"), 0.5), Choice(T("c"), 0.5),
                                             Choice(T("d"), -1.0)))
    assert score(q, [0, 1]).fraction == 1
    assert score(q, [0, 1, 2]).fraction == 1  # 150% is clipped
    assert score(q, [0, 3]).fraction == 0  # 50% - 100% stops at zero
    assert score(q, [0, 0]).fraction == 0.5  # a repeated index counts once
    assert score(q, [2]).status == "partial"


def test_true_false_feedback_follows_the_answer_given():
    q = TrueFalse(T("42?"), answer=False, feedback_true=T("No, it is not."), feedback_false=T("Right."))
    assert score(q, False).status == "correct" and score(q, False).feedback == (T("Right."),)
    assert score(q, True).status == "incorrect" and score(q, True).feedback == (T("No, it is not."),)
    assert score(q, "true").status == "unanswered"


def test_short_answer_unicode_whitespace_and_case():
    q = ShortAnswer(T("Capital?"), answers=(TextAnswer("São Paulo"), TextAnswer("Sao Paulo", 0.5),
                                            TextAnswer("*", 0.0, T("Try again"))))
    assert score(q, "  são   paulo ").fraction == 1
    assert score(q, "Sa\u0303o Paulo").fraction == 1  # decomposed ã: NFC makes it equal
    assert score(q, "sao paulo").fraction == 0.5
    assert score(q, "Rio").feedback == (T("Try again"),)
    assert score(q, "   ").status == "unanswered"
    strict = ShortAnswer(T("Symbol?"), answers=(TextAnswer("NaCl"),), case_sensitive=True)
    assert score(strict, "nacl").fraction == 0 and score(strict, "NaCl").fraction == 1


def test_short_answer_regex_full_match():
    q = ShortAnswer(T("Colour?"), answers=(TextAnswer(r"grey|gray", regex=True),))
    assert score(q, "Gray").fraction == 1
    assert score(q, "grayish").fraction == 0


def test_catastrophic_regex_is_an_authoring_error_and_is_cut_off_when_scoring():
    for evil in (r"(a|a)+$", r"(x|xx)+y"):
        assert "exponential time" in regex_problem(evil), evil
    assert regex_problem(r"[a-z]+\d{2}") is None
    assert "not valid" in regex_problem("(unclosed")
    q = ShortAnswer(T("?"), answers=(TextAnswer(r"(a|a)+b", regex=True),))
    assert any("exponential" in p for p in problems(q))
    started = time.monotonic()
    assert score(q, "a" * 60 + "!").fraction == 0
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("typed", "expected"), [
    ("3", 1.0), ("3.5", 1.0), ("2.5", 1.0), ("2.4999", 0.0), ("3,5", 1.0), ("\u22122", 0.0), ("1e0", 0.0),
    ("abc", 0.0), ("66%", 0.0), ("nan", 0.0), ("inf", 0.0),
])
def test_numerical_tolerance_boundaries(typed, expected):
    q = Numerical(T("x?"), answers=(NumericAnswer(1.0, value=3.0, tolerance=0.5),))
    result = score(q, typed)
    if expected is None:
        assert result.status == "unanswered"
    else:
        assert result.fraction == expected


def test_numerical_float_slack_ranges_and_partial_credit():
    q = Numerical(T("x?"), answers=(NumericAnswer(1.0, value=0.3, tolerance=0.1),
                                    NumericAnswer(0.5, low=1.0, high=5.0, feedback=T("close")),
                                    NumericAnswer(0.0, feedback=T("no"))))
    assert score(q, "0.4").fraction == 1  # 0.3 + 0.1 despite binary floating point
    assert score(q, "0.2").fraction == 1
    assert score(q, "5").fraction == 0.5 and score(q, "5").feedback == (T("close"),)
    assert score(q, "5.0001").feedback == (T("no"),)


def test_matching_partial_credit_and_distractors():
    q = Matching(T("Match"), pairs=(Pair(T("cat"), "meow"), Pair(T("dog"), "woof"), Pair(T(""), "moo")))
    assert score(q, ["meow", "woof"]).fraction == 1
    assert score(q, ["meow", "moo"]).fraction == 0.5
    assert score(q, ["meow"]).status == "unanswered"


def test_ordering_counts_items_in_place():
    q = Ordering(T("Order"), items=(T("one"), T("two"), T("three"), T("four")))
    assert score(q, [0, 1, 2, 3]).fraction == 1
    assert score(q, [1, 0, 2, 3]).fraction == 0.5
    assert score(q, [0, 0, 1, 2]).status == "unanswered"


def test_cloze_mixes_typed_and_drop_down_gaps():
    q = FillInBlanks(T("[[1]] is the capital of [[2]]"), gaps=(
        Gap("short", answers=(TextAnswer("Paris"),)),
        Gap("select", choices=(Choice(T("France"), 1.0), Choice(T("Spain"), 0.0))),
    ))
    assert problems(q) == []
    assert score(q, ["paris", 0]).fraction == 1
    assert score(q, ["paris", 1]).fraction == 0.5
    assert score(q, ["", ""]).fraction == 0


def test_essay_is_pending():
    assert score(Essay(T("Discuss")), "My answer").status == "pending"
    assert score(Essay(T("Discuss")), "   ").status == "unanswered"


def test_authoring_problems_name_what_to_fix():
    two_correct = SingleChoice(T("?"), choices=(Choice(T("a"), 1.0), Choice(T("b"), 1.0)))
    assert any("exactly one correct option; it has 2" in p for p in problems(two_correct))
    assert any("at least two pairs" in p for p in problems(Matching(T("?"), pairs=(Pair(T("a"), "b"),))))
    bad_range = Numerical(T("?"), answers=(NumericAnswer(1.0, low=5.0, high=1.0),))
    assert any("low end first" in p for p in problems(bad_range))
    gaps = FillInBlanks(T("[[1]] and [[3]]"), gaps=(Gap("short", answers=(TextAnswer("x"),)),) * 2)
    assert any("do not match" in p for p in problems(gaps))
    heavy = MultipleResponse(T("?"), choices=(Choice(T("a"), 1.5), Choice(T("b"), 0.0)))
    assert any("from -100% to 100%" in p for p in problems(heavy))


def test_three_correct_options_of_a_third_each_are_fully_correct():
    from lms.questions.formats.markdown import parse

    q = parse("## Q\n- [x] a\n- [x] b\n- [x] c\n- [ ] d\n", title="T").questions[0]
    assert [c.fraction for c in q.choices][:3] == [0.3333333] * 3
    result = score(q, [0, 1, 2])
    assert result.fraction == 1.0 and result.status == "correct"
