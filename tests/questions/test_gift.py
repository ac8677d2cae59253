"""The GIFT format: every construct, every error (with its line), escapes, Unicode, CRLF, export
layout, the unexpressed list, and GIFT -> JSON -> GIFT -> JSON round trips of the fixtures."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from lms.questions.formats import canonical, gift
from lms.questions.formats.gift import GiftError
from lms.questions.model import (
    Choice,
    Description,
    Essay,
    FillInBlanks,
    Gap,
    Matching,
    MultipleResponse,
    Numerical,
    NumericAnswer,
    Ordering,
    Pair,
    QuestionError,
    Quiz,
    RichText,
    ShortAnswer,
    SingleChoice,
    TextAnswer,
    TrueFalse,
)

FIXTURES = Path(__file__).parent / "fixtures"
GIFT_FIXTURES = sorted(FIXTURES.glob("*.gift"))


def one(text: str):
    quiz = gift.parse(text)
    assert len(quiz.questions) == 1
    return quiz.questions[0]


def error(text: str) -> GiftError:
    with pytest.raises(GiftError) as info:
        gift.parse(text)
    return info.value


def written(*questions, **quiz) -> str:
    return gift.export(Quiz(title="", questions=questions, **quiz)).text


def rich(text: str, fmt: str = "moodle") -> RichText:
    return RichText(text, fmt)


# -- reading: the file ------------------------------------------------------------------------------

def test_questions_are_separated_by_blank_lines_and_comments_are_ignored():
    quiz = gift.parse("// header\n// more\n\n::A::One?{T}\n   \n// about B\n::B::Two?{F}\n\n\n", title="Quiz",
                      settings={"pass_score": 70})
    assert [q.name for q in quiz.questions] == ["A", "B"]
    assert quiz.title == "Quiz" and quiz.settings == {"pass_score": 70}
    assert all(q.points == 1 for q in quiz.questions)


def test_question_lines_receive_where_each_question_starts():
    lines: list[int] = []
    gift.parse("// header\n\n$CATEGORY: x\n\n// c\n::A::One?{T}\n\n\n::B::Two?{F}\n", question_lines=lines)
    assert lines == [6, 9]


def test_category_applies_to_the_following_questions():
    quiz = gift.parse("::A::a{T}\n\n$CATEGORY: $course$/top/Week 1\n\n::B::b{T}\n\n::C::c{T}\n\n"
                      "// switch\n$CATEGORY:Week 2\n\n::D::d{T}\n")
    assert [q.category for q in quiz.questions] == [None, "$course$/top/Week 1", "$course$/top/Week 1", "Week 2"]


def test_tags_and_idnumber_come_from_the_comments():
    q = one("// [tag:one] [tag:two words] [id:q-1]\n// [tag:with \\] bracket]\n::N::text{}")
    assert q.tags == ("one", "two words", "with ] bracket")
    assert q.idnumber == "q-1"
    assert one("// [id:x] again [id:x]\nText{}").idnumber == "x"


def test_crlf_cr_and_bom_read_like_lf():
    lf = "// c\n::A::Line one\nline two{\n\t=yes#fb\n\t~no\n}\n\n::B::b{T}\n"
    expected = canonical.dumps(gift.parse(lf))
    assert canonical.dumps(gift.parse(lf.replace("\n", "\r\n"))) == expected
    assert canonical.dumps(gift.parse(lf.replace("\n", "\r"))) == expected
    assert canonical.dumps(gift.parse("\ufeff" + lf)) == expected
    assert gift.parse(lf.replace("\n", "\r\n")).questions[0].text.text == "Line one\nline two"


def test_unicode_is_kept():
    q = one("::Ünïcode 名前::Ça va? 日本語 😀{=oui#très bien ~non#\u00a0dommage\u00a0}")
    assert q.name == "Ünïcode 名前" and q.text.text == "Ça va? 日本語 😀"
    assert [c.text.text for c in q.choices] == ["oui", "non"]
    # Only ASCII whitespace is trimmed (as PHP's trim does): a no-break space is content.
    assert q.choices[1].feedback.text == "\u00a0dommage\u00a0"


# -- reading: titles, formats, escapes --------------------------------------------------------------

def test_title_and_text_are_trimmed():
    q = one("::  My title  ::   What?   {}")
    assert (q.name, q.text.text) == ("My title", "What?")
    assert one("What?{}").name is None


def test_multi_line_text_keeps_its_newlines_and_indentation():
    q = one("::Q::[html]<pre>\n    indented\n</pre>\n{}")
    assert q.text == rich("<pre>\n    indented\n</pre>", "html")


def test_default_format_is_moodle_and_prefixes_set_it():
    assert one("Plain?{}").text.format == "moodle"
    for fmt in ("html", "markdown", "plain", "moodle"):
        assert one(f"::T::[{fmt}]Text{{}}").text == rich("Text", fmt)


def test_answers_and_feedback_take_the_question_format_never_the_answers():
    q = one("::Q::[html]Q?{=[plain]yes#right ~no#[markdown]**no** ####general}")
    assert q.choices[0].text == rich("yes", "plain")
    assert q.choices[0].feedback == rich("right", "html")  # not plain, though its answer is
    assert q.choices[1].text == rich("no", "html")
    assert q.choices[1].feedback == rich("**no**", "markdown")
    assert q.general_feedback == rich("general", "html")
    assert one("::Q::[html]Q?{=a ~b####[plain]gf}").general_feedback == rich("gf", "plain")


def test_a_literal_bracket_word_at_the_start_needs_a_format_before_it():
    assert one("[moodle][note] text{}").text == rich("[note] text")
    assert one("[1, 2] is a list{}").text.text == "[1, 2] is a list"  # not a word: no prefix
    q = one("::Q::[html]Which?{=[moodle][a] first ~[html][b]second}")
    assert [c.text for c in q.choices] == [rich("[a] first"), rich("[b]second", "html")]


def test_escapes():
    q = one(r"::Esc\:aped::a \~ \= \# \{ \} \: b{=x\=y#f\#g ~z}")
    assert q.name == "Esc:aped"
    assert q.text.text == "a ~ = # { } : b"
    assert q.choices[0].text.text == "x=y" and q.choices[0].feedback.text == "f#g"


def test_backslashes_mdl_34171_and_newlines():
    assert one(r"A \\ B \\\\ C{}").text.text == "A \\ B \\\\ C"
    assert one(r"one\ntwo{}").text.text == "one\ntwo"
    assert one(r"not a newline: \\n{}").text.text == "not a newline: \\n"
    # Other backslashes are kept as written, so LaTeX survives.
    assert one(r"What is \frac\{1\}\{2\} \(x\)?{}").text.text == r"What is \frac{1}{2} \(x\)?"
    # An escaped line break at the end is content, not trimmed whitespace.
    assert one(r"Text\n{}").text.text == "Text\n"


# -- reading: question types ------------------------------------------------------------------------

def test_description_and_essay():
    q = one("::D::Just some text.")
    assert isinstance(q, Description) and q.text.text == "Just some text."
    q = one("::E::Tell me.{}")
    assert isinstance(q, Essay) and q.general_feedback is None
    q = one("::E::Tell me.{\n####[html]<b>Hint</b>\n}")
    assert isinstance(q, Essay) and q.general_feedback == rich("<b>Hint</b>", "html")


def test_single_choice_needs_an_equals_answer():
    q = one("Q?{=yes#right ~no#wrong ~%50%maybe}")
    assert isinstance(q, SingleChoice)
    assert q.choices == (Choice(rich("yes"), 1, rich("right")), Choice(rich("no"), 0, rich("wrong")),
                         Choice(rich("maybe"), 0.5))


def test_no_equals_answer_makes_a_multiple_response_even_with_one_full_weight():
    q = one("Q?{~%100%yellow ~%-50%red ~%-50%blue}")
    assert isinstance(q, MultipleResponse)
    assert [c.fraction for c in q.choices] == [1, -0.5, -0.5]
    q = one("Q?{~%33.33333%a ~%33.33333%b ~%33.33334%c ~%-100%d}")
    assert [c.fraction for c in q.choices] == [0.3333333, 0.3333333, 0.3333334, -1]


def test_weights_override_the_marker():
    q = one("Q?{=%50%half ~%100%full ~wrong}")
    assert isinstance(q, SingleChoice) and [c.fraction for c in q.choices] == [0.5, 1, 0]


def test_true_false_in_every_spelling_with_feedback_in_moodles_order():
    for spelling, answer in (("T", True), ("TRUE", True), ("F", False), ("FALSE", False)):
        q = one(f"Q?{{{spelling}}}")
        assert isinstance(q, TrueFalse) and q.answer is answer
        assert (q.feedback_true, q.feedback_false) == (None, None)
    # The first feedback is for a wrong response, the second for a right one.
    q = one("Q?{TRUE#said false#said true####general}")
    assert (q.feedback_true, q.feedback_false) == (rich("said true"), rich("said false"))
    assert q.general_feedback == rich("general")
    q = one("Q?{\nFALSE # said true # said false\n}")
    assert (q.feedback_true, q.feedback_false) == (rich("said true"), rich("said false"))


def test_short_answer_with_weights_wildcard_and_dropped_formats():
    q = one("Who?{=no one#right =%50%Grant =%0%*#no ####gf}")
    assert isinstance(q, ShortAnswer)
    assert q.answers == (TextAnswer("no one", 1, rich("right")), TextAnswer("Grant", 0.5),
                         TextAnswer("*", 0, rich("no")))
    assert q.general_feedback == rich("gf")
    # Short answers are plain strings: a format prefix on them is read and dropped, as Moodle does.
    assert one("Q?{=[html]<b>x</b>}").answers[0].text == "<b>x</b>"


def test_numerical_forms():
    assert one("N?{#3:0.5}").answers == (NumericAnswer(1, value=3, tolerance=0.5),)
    assert one("N?{#3}").answers == (NumericAnswer(1, value=3),)
    assert one("N?{#1..5}").answers == (NumericAnswer(1, low=1, high=5),)
    assert one("N?{#-5..-1.5}").answers == (NumericAnswer(1, low=-5, high=-1.5),)
    assert one("N?{#1e3:.5}").answers == (NumericAnswer(1, value=1000, tolerance=0.5),)
    assert one("N?{# 3 : 2 #fb}").answers == (NumericAnswer(1, value=3, tolerance=2, feedback=rich("fb")),)


def test_numerical_with_several_answers_and_catch_alls():
    q = one("N?{#\n=1822:0#Correct\n=%50%1822:2#Close\n~%-10%0:5\n~#Way off\n####Born 1822\n}")
    assert isinstance(q, Numerical)
    assert q.answers == (NumericAnswer(1, value=1822, tolerance=0, feedback=rich("Correct")),
                         NumericAnswer(0.5, value=1822, tolerance=2, feedback=rich("Close")),
                         NumericAnswer(-0.1, value=0, tolerance=5),
                         NumericAnswer(0, feedback=rich("Way off")))
    assert q.answers[3].is_catch_all and q.general_feedback == rich("Born 1822")
    # Moodle's own case: the first answer needs no =, and '~#...' is a catch-all.
    assert one("{#3:2~#Completely wrong}").answers[1] == NumericAnswer(0, feedback=rich("Completely wrong"))
    assert one("{#=%10%*#anything}").answers == (NumericAnswer(0.1, feedback=rich("anything")),)


def test_matching_pairs_distractors_and_formats():
    q = one("::M::[html]Match.{\n=[plain]cat -> cat food\n=dog -> dog food -> bowl\n= -> seeds\n####gf\n}")
    assert isinstance(q, Matching)
    assert q.pairs == (Pair(rich("cat", "plain"), "cat food"), Pair(rich("dog", "html"), "dog food -> bowl"),
                       Pair(rich("", "html"), "seeds"))
    assert q.general_feedback == rich("gf", "html")


def test_missing_word_questions_keep_a_blank():
    q = one("Grant is {~buried =entombed ~living} in Grant's tomb.")
    assert isinstance(q, SingleChoice) and q.text.text == "Grant is _____ in Grant's tomb."
    q = one("Two plus {=two =2} equals four.")
    assert isinstance(q, ShortAnswer) and q.text.text == "Two plus _____ equals four."
    q = one("{~%50%Red ~%50%Blue ~%-100%Green} are on the flag.")
    assert isinstance(q, MultipleResponse) and q.text.text == "_____ are on the flag."
    q = one("The holiday is on the {\n~third\n=fourth\n} Thursday.")
    assert q.text.text == "The holiday is on the _____ Thursday."


# -- reading: errors, each with its line -------------------------------------------------------------

@pytest.mark.parametrize(("text", "line", "words"), [
    ("// c\n::A::Q?{T}\n\n::B::Q?{\n=a\n\n~b\n}", 4, "not closed"),
    ("::A::Q?{=a ~b", 1, "not closed"),
    ("Q?}{T}", 1, r"\}"),
    ("Q? no block }", 1, r"\}"),
    ("Q?{\n=a {b}\n~c}", 2, r"\{"),
    ("Q?{T} and {F}", 1, "one answer block"),
    ("\n\n::T::[htm]Q?{T}", 3, "unknown format [htm]"),
    ("Q?{\n=a\n~[HTML]b\n}", 3, "[html]"),
    ("Q?{=a ~b#[xyz]fb}", 1, "unknown format [xyz]"),
    ("Q?{\n=a\n~%abc%b\n}", 3, "is not a number"),
    ("Q?{\n=a\n~%50 b\n}", 3, "not closed"),
    ("Q?{=a ~%150%b}", 1, "-100 to 100"),
    ("Q?{\n=a -> b\n~c\n}", 3, "=prompt -> answer"),
    ("Q?{\n=a -> b\n=c\n=d -> e\n}", 3, "=prompt -> answer"),
    ("Q?{\n=a -> b\n=%50%c -> d\n=e -> f\n}", 3, "no weight"),
    ("Q?{\n=a -> b\n=c -> d#fb\n=e -> f\n}", 3, "no feedback"),
    ("Q?{\n=a -> b\n=c ->\n=e -> f\n}", 3, "answer after ->"),
    ("::M::\nQ?{=a -> b =c -> d}", 2, "at least three pairs"),
    ("Q?{=a -> b = -> d = -> e}", 1, "at least two of them with a prompt"),
    ("N?{#\n=3:1\n=three\n}", 3, "not a number"),
    ("N?{#3:x}", 1, "not a number"),
    ("N?{#5..1}", 1, "low end first"),
    ("N?{#3:-1}", 1, "negative"),
    ("N?{#}", 1, "no answer"),
    ("Q?{true}", 1, "capitals: TRUE"),
    ("Q?{T#a#b#c}", 1, "at most two feedbacks"),
    ("Q?{\nmaybe =yes}", 2, "{T}"),
    ("Q?{T}\nand more text", 2, "text after the answer block"),
    ("Q?{}.", 1, "text after the answer block"),
    ("N?{#3:0.5}.", 1, "move the text before the {"),
    ("::Title without end\nQ?{T}", 1, "title is not closed"),
    ("Q?{=a ~ ~c}", 1, "empty"),
    ("Q?{~a ~b}", 1, "no answer is right"),
    ("$CATEGORY: x\n::A::Q?{T}", 2, "blank line"),
    ("$CATEGORY:\n\n::A::Q?{T}", 1, "category path"),
    ("// [id:a]\n// [id:b]\nQ?{}", 2, "one idnumber"),
    ("::A::", 1, "no text"),
    ("Q?{T}\n\nbad \U000f0001 char{}", 3, "reserved"),
])
def test_errors_name_their_line(text, line, words):
    exc = error(text)
    assert exc.line == line, str(exc)
    assert words in exc.detail
    assert str(exc) == f"line {line}: {exc.detail}"


def test_an_error_imports_nothing_and_is_a_question_error():
    with pytest.raises(QuestionError):
        gift.parse("::A::fine{T}\n\n::B::fine{=a ~b}\n\n::C::broken{=a ~%x%b}\n")


def test_crlf_errors_count_lines_the_same():
    assert error("::A::Q?{T}\r\n\r\n::B::Q?{\r\n=a\r\n~%x%b\r\n}").line == 5


# -- writing ----------------------------------------------------------------------------------------

def test_export_layout_for_every_type():
    text = written(
        SingleChoice(rich("Colour?"), name="S", choices=(Choice(rich("yellow"), 1, rich("right; good!")),
                                                       Choice(rich("red"), 0, rich("no", "html")),
                                                       Choice(rich("blue", "plain"), 0))),
        MultipleResponse(rich("Which?"), choices=(Choice(rich("a"), 0.5), Choice(rich("b"), 0.5),
                                                  Choice(rich("c"), -1), Choice(rich("d"), 0))),
        ShortAnswer(rich("Who?"), answers=(TextAnswer("Frog", 1, rich("Good!")), TextAnswer("*", 0))),
        Numerical(rich("N?"), answers=(NumericAnswer(1, value=3, tolerance=2), NumericAnswer(0.5, low=1, high=5),
                                       NumericAnswer(1, value=2.5), NumericAnswer(0, feedback=rich("no")))),
        Matching(rich("Match", "html"), general_feedback=rich("gf", "html"),
                 pairs=(Pair(rich("a", "html"), "1"), Pair(rich("b", "plain"), "2"), Pair(rich("", "html"), "3"))),
        TrueFalse(rich("T?"), answer=False, feedback_true=rich("said true"), feedback_false=rich("said false")),
        TrueFalse(rich("T?"), answer=True),
        Essay(rich("Tell me."), general_feedback=rich("gf")),
        Description(rich("Read this.", "markdown")),
    )
    assert text == (
        "::S::Colour?{\n\t=yellow#right; good!\n\t~red#[html]no\n\t~[plain]blue\n}\n\n"
        "Which?{\n\t~%50%a\n\t~%50%b\n\t~%-100%c\n\t~d\n}\n\n"
        "Who?{\n\t=%100%Frog#Good!\n\t=%0%*#\n}\n\n"
        "N?{#\n\t=%100%3:2#\n\t=%50%1..5#\n\t=%100%2.5#\n\t~#no\n}\n\n"
        "[html]Match{\n\t=a -> 1\n\t=[plain]b -> 2\n\t= -> 3\n\t####gf\n}\n\n"
        "T?{FALSE#said true#said false}\n\n"
        "T?{TRUE}\n\n"
        "Tell me.{####gf}\n\n"
        "[markdown]Read this.\n\n"
    )


def test_export_escapes():
    text = written(ShortAnswer(rich("a ~ = # { } : \\ b\nline two"), name="n: 1",
                               answers=(TextAnswer("x=y", 1, rich("f#g")),)))
    assert text == "::n\\: 1::a \\~ \\= \\# \\{ \\} \\: \\\\ b\\nline two{\n\t=%100%x\\=y#f\\#g\n}\n\n"


def test_export_protects_text_that_would_read_as_syntax():
    q = SingleChoice(rich("[note] //not a comment"), choices=(Choice(rich("%10 off"), 1),
                                                             Choice(rich("[b]old", "html"), 0)))
    text = written(q)
    assert text == "[moodle][note] //not a comment{\n\t=[moodle]%10 off\n\t~[html][b]old\n}\n\n"
    assert gift.parse(text).questions[0] == q
    assert written(Description(rich("// looks like a comment"))) == "[moodle]// looks like a comment\n\n"
    short = ShortAnswer(rich("Q"), answers=(TextAnswer("[x] y"),))
    assert gift.parse(written(short)).questions[0] == short


def test_export_writes_categories_tags_and_ids():
    text = written(Essay(rich("a"), category="c1", tags=("t1", "t]2"), idnumber="id1"),
                   Essay(rich("b"), category="c1"), Essay(rich("c"), category="c2"))
    assert text == ("$CATEGORY: c1\n\n// [id:id1] [tag:t1] [tag:t\\]2]\na{}\n\n"
                    "b{}\n\n"
                    "$CATEGORY: c2\n\nc{}\n\n")
    back = gift.parse(text).questions
    assert [(q.category, q.tags, q.idnumber) for q in back] == [("c1", ("t1", "t]2"), "id1"), ("c1", (), None),
                                                                ("c2", (), None)]


def test_moodle_header_only_with_question_ids():
    quiz = Quiz(title="", questions=(Essay(rich("a"), name="A"), Essay(rich("b"))))
    assert gift.export(quiz).text == "::A::a{}\n\nb{}\n\n"
    assert gift.export(quiz, question_ids=[7, None]).text == "// question: 7  name: A\n::A::a{}\n\nb{}\n\n"
    with pytest.raises(ValueError, match="one entry per question"):
        gift.export(quiz, question_ids=[1])


def test_export_puts_a_missing_word_block_back_in_place():
    q = SingleChoice(rich("Grant is _____ in Grant's tomb."), choices=(Choice(rich("buried"), 0),
                                                                       Choice(rich("entombed"), 1)))
    assert written(q) == "Grant is {\n\t~buried\n\t=entombed\n} in Grant's tomb.\n\n"
    assert gift.parse(written(q)).questions[0] == q
    # A blank at the very end stays text: the block goes after it, or the blank would be lost.
    end = ShortAnswer(rich("Fill in: _____"), answers=(TextAnswer("x"),))
    assert written(end) == "Fill in\\: _____{\n\t=%100%x#\n}\n\n"
    assert gift.parse(written(end)).questions[0] == end


def test_export_keeps_single_choice_single():
    # No option with fraction 1: the best one is still written with = (and its weight).
    q = SingleChoice(rich("Q"), choices=(Choice(rich("a"), 0.5), Choice(rich("b"), 0)))
    assert written(q) == "Q{\n\t=%50%a\n\t~b\n}\n\n"
    # All options right: only = answers would read back as a short answer, so one ~%100%.
    q2 = SingleChoice(rich("Q"), choices=(Choice(rich("a"), 1), Choice(rich("b"), 1)))
    assert written(q2) == "Q{\n\t=a\n\t~%100%b\n}\n\n"
    for question in (q, q2):
        assert gift.parse(written(question)).questions[0] == question


def test_export_weights_give_the_same_fraction_back():
    fractions = (1 / 3, 0.07, -0.3333333, 0.125, 1e-7, -1, 0.999)
    q = MultipleResponse(rich("Q"), choices=tuple(Choice(rich(f"c{n}"), f) for n, f in enumerate(fractions)))
    text = written(q)
    assert "~%-33.33333%c2" in text and "~%12.5%c3" in text and "~%-100%c5" in text
    assert [c.fraction for c in gift.parse(text).questions[0].choices] == list(fractions)


def test_export_numbers():
    q = Numerical(rich("N"), answers=(NumericAnswer(1, value=0.0005, tolerance=1e-05),
                                      NumericAnswer(0.5, value=-3, tolerance=0), NumericAnswer(0.1, value=1e20)))
    text = written(q)
    assert "=%100%0.0005:1e-05#" in text and "=%50%-3:0#" in text and "=%10%1e+20#" in text
    assert gift.parse(text).questions[0] == q


# -- writing: what GIFT cannot say -------------------------------------------------------------------

def test_unexpressed_lists_everything_gift_cannot_say():
    quiz = Quiz(title="Week 1", settings={"pass_score": 70, "attempts": 2}, questions=(
        Ordering(rich("Order"), name="Steps", items=(rich("a"), rich("b"))),
        FillInBlanks(rich("[[1]] and [[2]]"), gaps=(Gap("short", answers=(TextAnswer("x"),)),)),
        ShortAnswer(rich("S"), name="Short", points=2, key="k1", lesson="intro", case_sensitive=True,
                    answers=(TextAnswer("a+", regex=True), TextAnswer("a -> b")), category="c"),
        Essay(rich("E"), grader_info=rich("grade kindly")),
        Description(rich(" D "), general_feedback=rich("gf")),
        Matching(rich("M"), pairs=(Pair(rich("a"), "1"), Pair(rich("b"), ""))),
        SingleChoice(rich("One"), choices=(Choice(rich("only"), 1),)),
    ))
    result = gift.export(quiz)
    assert result.unexpressed == [
        "quiz: the title 'Week 1' is not written (GIFT has no quiz title; give it to the importer, e.g. as the "
        "file name)",
        "quiz: settings (attempts, pass_score) are not part of GIFT",
        "question 1 'Steps': ordering questions cannot be written in GIFT; left out",
        "question 2: fill-in-the-blanks questions (several gaps) cannot be written in GIFT; left out",
        "question 3 'Short': points 2 (GIFT has no points: 1 on import)",
        "question 3 'Short': key 'k1'",
        "question 3 'Short': lesson 'intro'",
        "question 3 'Short': case-sensitive matching (GIFT short answers are case-insensitive on import)",
        "question 3 'Short': answer 1 is a regular expression; GIFT writes it as a literal answer",
        "question 3 'Short': answer 2 contains '->', which GIFT reads as a matching pair; it will not import as "
        "written",
        "question 4: has no category, but GIFT gives it the category before it ('c')",
        "question 4: information for graders (GIFT cannot hold it)",
        "question 5: has no category, but GIFT gives it the category before it ('c')",
        "question 5: the question text: spaces at its ends (or carriage returns) are not kept",
        "question 5: general feedback on a description (GIFT has no answer block to hold it)",
        "question 6: has no category, but GIFT gives it the category before it ('c')",
        "question 6: a matching question needs at least three pairs, two with a prompt, to import from GIFT",
        "question 6: pair 2 has no answer, which GIFT cannot import",
        "question 7: has no category, but GIFT gives it the category before it ('c')",
        "question 7: a single choice with one option reads back as a short answer",
    ]
    assert "Order" not in result.text and "[[1]]" not in result.text


def test_nothing_unexpressed_for_what_gift_can_say():
    quiz = gift.parse((FIXTURES / "every-construct.gift").read_text(encoding="utf-8"))
    assert gift.export(quiz).unexpressed == []


# -- round trips --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", GIFT_FIXTURES, ids=[p.name for p in GIFT_FIXTURES])
def test_fixture_round_trip(path):
    """GIFT -> JSON -> GIFT -> JSON gives the same JSON."""
    first = canonical.dumps(gift.parse(path.read_text(encoding="utf-8"), title=path.stem))
    result = gift.export(canonical.loads(first))
    second = canonical.dumps(gift.parse(result.text, title=path.stem))
    assert second == first
    assert [line for line in result.unexpressed if not line.startswith("quiz: the title")] == []
    # And the exported text is stable: writing what was read back gives the same text.
    assert gift.export(gift.parse(result.text, title=path.stem)).text == result.text


def test_rich_fixture_covers_every_construct():
    quiz = gift.parse((FIXTURES / "every-construct.gift").read_text(encoding="utf-8"), title="t")
    types = {q.type for q in quiz.questions}
    assert types == {"single", "multi", "truefalse", "short", "numerical", "matching", "essay", "description"}
    assert {q.category for q in quiz.questions} == {"$course$/top/Geography", "$course$/top/Escapes and Unicode"}
    assert any(q.tags and q.idnumber for q in quiz.questions)
    assert sum(gift.BLANK in q.text.text for q in quiz.questions) >= 4
    formats = {r.format for q in quiz.questions for r in _texts(q)}
    assert formats == {"moodle", "html", "plain", "markdown"}
    numeric = [a for q in quiz.questions if isinstance(q, Numerical) for a in q.answers]
    assert any(a.low is not None for a in numeric) and any(a.is_catch_all for a in numeric)
    assert any(a.tolerance is None and a.value is not None for a in numeric)


def _texts(q):
    yield q.text
    if q.general_feedback:
        yield q.general_feedback
    for c in getattr(q, "choices", ()):
        yield c.text
        if c.feedback:
            yield c.feedback
    for p in getattr(q, "pairs", ()):
        yield p.prompt
    for a in getattr(q, "answers", ()):
        if a.feedback:
            yield a.feedback


def test_a_description_without_text_is_left_out_with_its_comments():
    result = gift.export(Quiz(title="", questions=(Description(rich(""), tags=("t",)), Essay(rich("E")))))
    assert result.text == "E{}\n\n"
    assert result.unexpressed == ["question 1: a description without text is not written"]


def test_names_keep_line_breaks_and_colons():
    q = Essay(rich("E"), name="two\nlines: yes")
    assert written(q) == "::two\\nlines\\: yes::E{}\n\n"
    assert gift.parse(written(q)).questions[0] == q


# -- the contract, on generated questions ----------------------------------------------------------

_PIECES = [*"ab ~=#{}:\\\n[]%_->*/$T", "->", "_____", "[html]", "[b]", "//", "\\n", "é", "日", "TRUE", "####", "::",
           "$CATEGORY:", "\u00a0"]


def _generated_quiz(r) -> Quiz:
    def text(empty=False):
        s = "".join(r.choice(_PIECES) for _ in range(r.randint(0 if empty else 1, 8))).strip(" \t")
        return s or ("" if empty else "x")

    def rt():
        return RichText(text(), r.choice(("moodle", "html", "plain", "markdown")))

    def maybe():
        return None if r.random() < 0.4 else rt()

    def fraction():
        return r.choice((0, 1, 0.5, -0.5, 1 / 3, -1, 0.07))

    def question(category):
        common = {"text": rt(), "name": r.choice((None, text())), "general_feedback": maybe(),
                  "category": category, "tags": tuple(text() for _ in range(r.randint(0, 2))),
                  "idnumber": r.choice((None, text()))}
        kind = r.randrange(8)
        if kind == 0:
            choices = [Choice(rt(), 0, maybe()) for _ in range(r.randint(2, 4))]
            choices[0] = replace(choices[0], fraction=1)
            return SingleChoice(**common, choices=tuple(r.sample(choices, len(choices))))
        if kind == 1:
            return MultipleResponse(**common, choices=(Choice(rt(), 0.5), *(Choice(rt(), fraction(), maybe())
                                                                            for _ in range(r.randint(0, 3)))))
        if kind == 2:
            return ShortAnswer(**common, answers=tuple(TextAnswer(text(), fraction(), maybe())
                                                       for _ in range(r.randint(1, 3))))
        if kind == 3:
            return Numerical(**common, answers=tuple(r.choice((
                NumericAnswer(fraction(), value=r.uniform(-100, 100), tolerance=r.choice((None, 0.0, 0.5))),
                NumericAnswer(fraction(), low=-1.5, high=r.choice((2.0, 1e20)), feedback=maybe()),
                NumericAnswer(fraction(), feedback=maybe()))) for _ in range(r.randint(1, 3))))
        if kind == 4:
            return Matching(**common, pairs=tuple(Pair(rt(), text()) for _ in range(r.randint(3, 5))))
        if kind == 5:
            return TrueFalse(**common, answer=r.random() < 0.5, feedback_true=maybe(), feedback_false=maybe())
        if kind == 6:
            return Essay(**common)
        return Description(**{**common, "general_feedback": None})

    # Categories only change forwards: GIFT cannot go back to "no category" (that case is reported).
    categories = sorted((r.choice((None, "c1", "c2")) for _ in range(3)), key=lambda c: c or "")
    return Quiz(title="", questions=tuple(question(c) for c in categories))


def test_whatever_export_does_not_report_reads_back_identical():
    """The contract behind `unexpressed`: nothing reported means nothing lost. Checked on generated
    quizzes full of GIFT's special characters (escapes, arrows, blanks, prefixes, comments)."""
    r = random.Random(20261123)
    checked = 0
    for _ in range(1500):
        quiz = _generated_quiz(r)
        result = gift.export(quiz)
        if result.unexpressed:
            continue
        assert gift.parse(result.text).questions == quiz.questions, result.text
        checked += 1
    assert checked > 300  # the generator is not so wild that everything gets reported


def test_unexpressed_values_the_importer_would_refuse():
    result = gift.export(Quiz(title="", questions=(
        MultipleResponse(rich("M"), choices=(Choice(rich("a"), 0), Choice(rich("b"), 1.5))),
        MultipleResponse(rich("N"), choices=(Choice(rich("a"), 0), Choice(rich("b"), -1))),
        Numerical(rich("N"), answers=(NumericAnswer(1, value=float("inf")), NumericAnswer(1, value=1, tolerance=-1),
                                      NumericAnswer(1, low=5, high=1))),
    )))
    assert result.unexpressed == [
        "question 1: option 2: the fraction 1.5 is outside -1..1, which GIFT cannot import",
        "question 2: a multiple response without a right option cannot be imported from GIFT",
        "question 3: answer 1: inf is not a finite number, which GIFT cannot import",
        "question 3: answer 2: a negative tolerance cannot be imported from GIFT",
        "question 3: answer 3: the range ends below its start, which GIFT cannot import",
    ]
