"""The Markdown quiz syntax: every question type, errors with their line, and round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from lms.content.source import split_front_matter
from lms.questions.formats import canonical, markdown
from lms.questions.formats.markdown import MarkdownQuizError
from lms.questions.scoring import problems, score

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]


def _parse_file(text: str):
    doc = split_front_matter(text, "quiz.md")
    settings = {k: v for k, v in doc.meta.values.items() if k not in ("type", "title")}
    return markdown.parse(doc.body, title=doc.meta.values["title"], settings=settings, first_line=doc.body_first_line)


def _body(text: str):
    return markdown.parse(text, title="T")


def test_every_type_parses_to_the_right_model():
    quiz = _parse_file((FIXTURES / "every-type.md").read_text())
    types = [q.type for q in quiz.questions]
    assert types == ["single", "multi", "truefalse", "short", "numerical", "matching", "ordering", "cloze", "essay",
                     "description", "single"]
    single, multi, tf, short, num, match, order, cloze, essay, desc, code = quiz.questions
    assert single.text.text == "Which method shows the first five rows of a DataFrame?"
    assert single.choices[0].feedback.text == "Right: `head()` defaults to 5 rows."
    assert single.general_feedback.text == "`df.tail()` shows the last rows."
    assert [c.fraction for c in multi.choices] == [0.5, 0.5, -0.5, 0.0]
    assert (multi.points, multi.key, multi.lesson) == (2, "mutable", "types-and-duplicates")
    assert tf.answer is True and tf.feedback_false.text.startswith("They are ordered")
    assert [a.regex for a in short.answers] == [False, False, True, False]
    assert short.answers[3].text == "*" and short.answers[3].fraction == 0
    assert num.text.text == "What is 2.5 times 4?\n\nType a number."
    assert (num.answers[1].low, num.answers[1].high, num.answers[1].fraction) == (9, 11, 0.5)
    assert [p.answer for p in match.pairs] == ["counts items", "adds numbers", "finds the largest", "sorts items"]
    assert match.pairs[3].prompt.text == ""
    assert [i.text for i in order.items][0] == "Load the data"
    assert cloze.text.text == "Fill in the blanks\n\nIn pandas, [[1]] splits the data and [[2]] combines results."
    assert cloze.gaps[0].kind == "short" and [a.text for a in cloze.gaps[0].answers] == ["groupby", "group by"]
    assert cloze.gaps[1].kind == "select" and cloze.gaps[1].choices[0].fraction == 1
    assert essay.points == 5 and desc.text.text.endswith("They are about the same dataset.")
    assert "- [ ] not an option" in code.text.text and len(code.choices) == 2
    assert all(problems(q) == [] for q in quiz.questions)
    assert quiz.settings == {"pass_score": 70, "attempts": 3}
    assert quiz.description.text == "An introduction to the quiz: not a question."


def test_scoring_through_the_parsed_questions():
    quiz = _parse_file((FIXTURES / "every-type.md").read_text())
    single, multi, tf, short, num, match, order, cloze, *_ = quiz.questions
    assert score(multi, [0, 1, 2]).fraction == 0.5
    assert score(short, "PARYS").fraction == 1 and score(short, "lutetia").fraction == 0.5
    assert score(num, "10.5").fraction == 0.5
    assert score(match, ["counts items", "adds numbers", "sorts items"]).fraction == pytest.approx(2 / 3)
    assert score(cloze, ["Group  By", 0]).fraction == 1


@pytest.mark.parametrize("path", [FIXTURES / "every-type.md", *sorted((ROOT / "courses").rglob("*check.md"))],
                         ids=lambda p: p.name if p.parent == FIXTURES else str(p.relative_to(ROOT / "courses")))
def test_markdown_json_markdown_json_round_trip(path):
    quiz = _parse_file(path.read_text())
    first = canonical.dumps(quiz)
    written = markdown.export(canonical.loads(first))
    assert written.unexpressed == []
    assert canonical.dumps(_parse_file(written.text)) == first


@pytest.mark.parametrize(("body", "line", "message"), [
    ("## Q {type=single}\n- [x] a\n- [x] b\n", 3, "single-choice question with 2 correct options"),
    ("## Q\n- [ ] a\n- [ ] b\n", 2, "no option is marked correct"),
    ("## Q {type=numerical}\n= ten\n", 2, "`ten` is not a number"),
    ("## Q\n- a -> b\n- c\n", 3, "a matching pair without a partner"),
    ("## Q {flavour=mint}\n= x\n", 1, "unknown question setting `flavour`"),
    ("## Q {type=poem}\n= x\n", 1, "unknown question type `poem`"),
    ("## Q\nJust text.\n", 1, "the question has no answers"),
    ("## Q\n- [x] a\n- [ ] b\nMore text\n", 4, "text after the answers"),
    ("## Q\n- [x] a\n= b\n", 2, "mixed answer styles"),
    ("## Q\n- [x] {150%} a\n- [ ] b\n", 2, "out of range"),
    ("## Q\n- [ ] {50%} a\n- [x] b\n", 2, "mark options with a positive weight [x]"),
    ("## Q {points=0}\n= x\n", 1, "write a positive number"),
    ("## Q\n```python\nx = 1\n", 3, "code block is not closed"),
    ("Only an introduction.\n", 1, "the quiz has no questions"),
    ("## Q [[select: a | b]]\n", 1, "exactly one correct option marked with *"),
    ("## Q {type=truefalse}\n= maybe\n", 2, "`= true` or `= false`"),
])
def test_errors_name_the_line_and_the_fix(body, line, message):
    with pytest.raises(MarkdownQuizError) as caught:
        _body(body)
    assert caught.value.line == line
    assert message in str(caught.value)


def test_error_lines_count_from_the_file_start():
    text = "---\ntype: quiz\ntitle: T\n---\n## Q {type=single}\n- [x] a\n- [x] b\n"
    with pytest.raises(MarkdownQuizError) as caught:
        _parse_file(text)
    assert caught.value.line == 7


def test_two_marked_options_without_a_type_make_a_multiple_response_question():
    assert _body("## Q\n- [x] a\n- [x] b\n- [ ] c\n").questions[0].type == "multi"


def test_canonical_json_is_deterministic_and_has_no_positions():
    quiz = _parse_file((FIXTURES / "every-type.md").read_text())
    text = canonical.dumps(quiz)
    assert text == canonical.dumps(_parse_file((FIXTURES / "every-type.md").read_text()))
    assert '"line"' not in text and '"id"' not in text
    assert text.startswith('{\n  "title": "Every question type",\n  "description"')


def test_exporting_what_markdown_cannot_say_is_reported():
    from lms.questions.model import Quiz, RichText, ShortAnswer, TextAnswer

    quiz = Quiz("T", {}, (ShortAnswer(RichText("<b>Q</b>", "html"), name="Q1", category="top/sub",
                                      answers=(TextAnswer("x"),)),))
    result = markdown.export(quiz)
    assert any("html text" in u for u in result.unexpressed)
    assert any("category" in u for u in result.unexpressed)


def test_every_example_in_the_course_format_doc_parses_cleanly():
    doc = (ROOT / "docs" / "course-format.md").read_text()
    section = doc[doc.index("### The Markdown quiz syntax"):doc.index("### GIFT")]
    examples = [block for block in section.split("```markdown\n")[1:]]
    examples = [block.split("\n```\n")[0] for block in examples if block.startswith("## ")]
    assert len(examples) >= 10
    types = set()
    for example in examples:
        quiz = _body(example + "\n")
        for question in quiz.questions:
            assert problems(question) == [], example
            types.add(question.type)
    assert types == {"single", "multi", "truefalse", "short", "numerical", "matching", "ordering", "cloze", "essay",
                     "description"}


def test_questions_without_answer_lines_end_with_their_explanation():
    cloze, essay = _body("## Fill it\nThe capital is [[Paris]].\n> Paris since 987.\n\n"
                         "## Discuss. {type=essay}\nIn two sentences.\n\n> A good answer names both.\n").questions
    assert cloze.general_feedback.text == "Paris since 987." and "987" not in cloze.text.text
    assert essay.general_feedback.text == "A good answer names both." and essay.text.text.endswith("two sentences.")


def test_double_brackets_in_code_are_not_gaps():
    quiz = _body('## Which selects two columns?\n```python\ndf[["a", "b"]]\n```\nAnd `x[[0]]`?\n- [x] yes\n- [ ] no\n')
    assert quiz.questions[0].type == "single"
    cloze = _body("## Fill\n`df[[cols]]` selects; [[groupby]] groups.\n").questions[0]
    assert cloze.type == "cloze" and cloze.text.text == "Fill\n\n`df[[cols]]` selects; [[1]] groups."


def test_true_false_feedback_keeps_its_place():
    quiz = _body("## Q\n= false\n  >\n  > Right: it is false.\n")
    q = quiz.questions[0]
    assert q.feedback_true is None and q.feedback_false.text == "Right: it is false."
    again = _body(markdown.export(quiz).text.split("---\n", 2)[2]).questions[0]
    assert again == q


def test_feedback_under_pairs_or_items_is_an_error_not_lost():
    with pytest.raises(MarkdownQuizError, match="matching pairs have no feedback of their own") as caught:
        _body("## Q\n- a -> b\n  > no\n- c -> d\n")
    assert caught.value.line == 3


def test_short_answer_catch_all_defaults_to_zero_and_numbers_keep_their_precision():
    quiz = _body("## Q\n= yes\n= *\n  > Try again.\n\n## N {points=2.5}\n= 1234567.5 +- 0.0001\n= {33.3333333%} 1..2\n")
    short, number = quiz.questions
    assert short.answers[1].fraction == 0
    text = markdown.export(quiz).text
    assert "= 1234567.5 +- 0.0001" in text and "{33.3333333%} 1..2" in text and "points=2.5" in text
    assert canonical.dumps(_body(text.split("---\n", 2)[2])) == canonical.dumps(quiz)
