"""`courses check`: every problem with file:line and what to write instead; no crash on anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lms.content import ERROR, NOTICE, WARNING, load_courses
from tests.conftest import ROOT, write_course


def _messages(result, severity=ERROR) -> list[str]:
    return [str(p) for p in result.problems if p.severity == severity]


@pytest.fixture
def course(tmp_path) -> Path:
    return write_course(tmp_path, "good-course")


def test_a_valid_course_loads_with_no_problems(course):
    result = load_courses(course)
    assert result.ok and result.problems == []
    spec = result.courses[0]
    assert spec.slug == "good-course" and len(spec.modules) == 2 and len(spec.items) == 6
    assert spec.modules[0].items[0].title == "Lesson 1.1"
    assert 'src="/media/' in spec.modules[0].items[0].html


def test_the_shipped_courses_have_no_errors_or_warnings():
    result = load_courses(ROOT / "courses")
    assert _messages(result) == [] and _messages(result, WARNING) == []
    assert {c.slug for c in result.courses} >= {"python-data-analysis", "web-accessibility-essentials"}
    python = next(c for c in result.courses if c.slug == "python-data-analysis")
    assert len(python.modules) >= 4 and sum(1 for i in python.items if i.kind == "lesson") >= 10
    accessibility = next(c for c in result.courses if c.slug == "web-accessibility-essentials")
    assert len(accessibility.modules) >= 3


def test_bad_yaml_names_the_line(course):
    (course / "course.yml").write_text("title: Fine\nsummary: [unclosed\nlevel: beginner\n")
    [message] = _messages(load_courses(course))
    assert message.startswith("good-course/course.yml:")
    assert "invalid YAML" in message


def test_unknown_key_suggests_the_right_one(course):
    (course / "course.yml").write_text("title: T\nsummary: S\nlevle: beginner\n")
    [message] = _messages(load_courses(course))
    assert message.startswith("good-course/course.yml:3:")
    assert "unknown key `levle`" in message and "did you mean `level`?" in message


def test_wrong_value_types_say_what_to_write(course):
    (course / "course.yml").write_text("title: T\nsummary: S\nlevel: expert\nestimated_hours: lots\n"
                                       "reviewed_on: yesterday\n")
    messages = " ".join(_messages(load_courses(course)))
    assert "`level` must be one of: beginner, intermediate, advanced" in messages
    assert "`estimated_hours` must be a number" in messages
    assert "YYYY-MM-DD" in messages


def test_missing_lesson_title(course):
    (course / "01-module-1" / "01-lesson-1.md").write_text("---\nminutes: 3\n---\nText\n")
    [message] = _messages(load_courses(course))
    assert message.startswith("good-course/01-module-1/01-lesson-1.md:2:")
    assert "missing required key `title`" in message


def test_missing_front_matter(course):
    (course / "01-module-1" / "01-lesson-1.md").write_text("# Just markdown\n")
    [message] = _messages(load_courses(course))
    assert "01-lesson-1.md:1: error: missing front matter" in message


def test_duplicate_module_number_and_lesson_slug(course):
    (course / "01-another").mkdir()
    (course / "01-another" / "module.yml").write_text("title: Another\n")
    (course / "02-module-2" / "09-lesson-1.md").write_text("---\ntitle: Dup\n---\nx\n")
    messages = " ".join(_messages(load_courses(course)))
    assert "module number 01 is also used by" in messages
    assert "slug `lesson-1` is also used by 01-lesson-1.md" in messages


def test_duplicate_course_slug_across_folders(tmp_path):
    write_course(tmp_path, "one")
    write_course(tmp_path, "two", extra_course_yml="slug: one\n")
    messages = " ".join(_messages(load_courses(tmp_path)))
    assert "course slug `one` is already used by one" in messages


def test_link_to_missing_asset_names_the_line(course):
    (course / "01-module-1" / "01-lesson-1.md").write_text(
        "---\ntitle: T\n---\nIntro\n\nMore\n\n![Chart](../assets/missing.png)\n")
    [message] = _messages(load_courses(course))
    assert message.startswith("good-course/01-module-1/01-lesson-1.md:8:")
    assert "does not exist" in message


def test_link_leaving_the_course_folder(course):
    (course / "01-module-1" / "01-lesson-1.md").write_text("---\ntitle: T\n---\n[x](../../../etc/passwd)\n")
    [message] = _messages(load_courses(course))
    assert "leaves the course folder" in message


def test_links_between_lessons_become_lesson_urls(course):
    (course / "01-module-1" / "01-lesson-1.md").write_text(
        "---\ntitle: T\n---\nSee [the next module](../02-module-2/01-lesson-1.md#start).\n")
    result = load_courses(course)
    assert result.ok
    assert 'href="/courses/good-course/module-2/lesson-1#start"' in result.courses[0].items[0].html


def test_symlink_is_refused(course, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    os.symlink(outside, course / "assets" / "secret.txt")
    messages = " ".join(_messages(load_courses(course)))
    assert "symbolic links are not allowed" in messages


def test_file_that_is_not_utf8(course):
    (course / "01-module-1" / "01-lesson-1.md").write_bytes(b"---\ntitle: T\n---\ncaf\xe9\n")
    [message] = _messages(load_courses(course))
    assert message.startswith("good-course/01-module-1/01-lesson-1.md:4:")
    assert "not UTF-8" in message


def test_raw_html_is_sanitized_with_a_warning(course):
    (course / "01-module-1" / "01-lesson-1.md").write_text(
        '---\ntitle: T\n---\nText\n\n<script>alert(1)</script>\n<p onclick="x()">Hi</p>\n')
    result = load_courses(course)
    assert result.ok
    warnings = " ".join(_messages(result, WARNING))
    assert "tag <script> will be removed" in warnings and "attribute onclick on <p>" in warnings
    html = result.courses[0].items[0].html
    assert "script" not in html and "onclick" not in html and "alert" not in html


def test_quizzes_are_checked_and_the_capstone_read(course):
    (course / "01-module-1" / "04-check.md").write_text(
        "---\ntype: quiz\ntitle: Check\npass_score: 80\n---\n## Q?\n- [x] yes\n- [ ] no\n")
    (course / "02-module-2" / "04-check.gift").write_text("::Q1:: 2+2 {=4 ~5}\n")
    (course / "capstone.md").write_text(
        "---\ntitle: Build it\nrubric:\n  - title: Works\n    levels:\n      - {points: 0, title: Missing}\n"
        "      - {points: 1, title: Done}\npass:\n  min_points: 1\n---\nThe brief.\n")
    result = load_courses(course)
    assert result.ok and result.problems == []
    spec = result.courses[0]
    assert [i.kind for i in spec.items].count("quiz") == 2
    assert [q.type for q in spec.items[3].quiz.questions] == ["single"]
    assert spec.items[3].quiz.settings["pass_score"] == 80
    assert spec.capstone.title == "Build it" and spec.capstone.html == "<p>The brief.</p>"
    assert spec.capstone.capstone.rubric[0].key == "works"


def test_a_capstone_needs_a_rubric_and_a_pass_rule(course):
    (course / "capstone.md").write_text("---\ntitle: Build it\n---\nThe brief.\n")
    result = load_courses(course)
    assert _messages(result) == [
        "good-course/capstone.md:2: error: missing required key `rubric` in the capstone's front matter; "
        "add `rubric: ...`",
        "good-course/capstone.md:2: error: missing required key `pass` in the capstone's front matter; "
        "add `pass: ...`",
    ]
    assert result.courses == [] and _messages(result, NOTICE) == []


def test_quiz_errors_name_the_file_and_line(course):
    (course / "01-module-1" / "04-check.md").write_text(
        "---\ntype: quiz\ntitle: Check\npass_scor: 80\n---\n## Q {type=single}\n- [x] a\n- [x] b\n")
    errors = _messages(load_courses(course))
    assert "good-course/01-module-1/04-check.md:4: error: unknown key `pass_scor`" in errors[0]
    assert "did you mean `pass_score`?" in errors[0]
    assert errors[1].startswith("good-course/01-module-1/04-check.md:8: error: a single-choice question with 2")


def test_quiz_question_problems_name_the_question_line(course):
    (course / "01-module-1" / "04-check.md").write_text(
        "---\ntype: quiz\ntitle: Check\ndraw: 5\n---\n## Fine\n= 3\n\n## Bad regex\n= /(a|a)+$/\n")
    errors = _messages(load_courses(course))
    assert any("draw: 5 is more than the quiz's 2 questions" in e for e in errors)
    assert any(e.startswith("good-course/01-module-1/04-check.md:9:") and "exponential" in e for e in errors)


def test_badly_named_files_and_folders(course):
    (course / "1-Intro").mkdir()
    (course / "01-module-1" / "lesson.md").write_text("---\ntitle: T\n---\nx\n")
    (course / "notes.txt").write_text("x")
    result = load_courses(course)
    errors = " ".join(_messages(result))
    assert "module folders are named `NN-slug`" in errors
    assert "name lesson files `NN-slug.md`" in errors
    assert "ignored" in " ".join(_messages(result, WARNING))


def test_missing_course_yml_and_module_yml(tmp_path):
    folder = write_course(tmp_path, "c")
    (folder / "01-module-1" / "module.yml").unlink()
    messages = " ".join(_messages(load_courses(folder)))
    assert "missing module.yml" in messages
    (folder / "course.yml").unlink()
    result = load_courses(tmp_path)
    assert "missing course.yml" in " ".join(_messages(result))


def test_no_such_folder(tmp_path):
    result = load_courses(tmp_path / "nope")
    assert not result.ok and "no such folder" in _messages(result)[0]


def test_content_hash_changes_only_with_content(tmp_path):
    folder = write_course(tmp_path, "c")
    first = load_courses(folder).courses[0]
    assert load_courses(folder).courses[0].content_hash == first.content_hash
    (folder / "assets" / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><title>e</title></svg>')
    second = load_courses(folder).courses[0]
    assert second.content_hash != first.content_hash
    # the lesson showing the image changed (its media URL did); others did not
    assert second.items[0].content_hash != first.items[0].content_hash


def test_quiz_lesson_pointers_must_name_a_lesson(course):
    (course / "01-module-1" / "04-check.md").write_text(
        "---\ntype: quiz\ntitle: Check\n---\nRead lesson 1 first.\n\n## Q {lesson=lesson-1}\n= 3\n\n"
        "## R {lesson=no-such-lesson}\n= 4\n")
    errors = _messages(load_courses(course))
    assert errors == ["good-course/01-module-1/04-check.md:10: error: lesson=no-such-lesson: no lesson of this "
                      "course has that slug; use a lesson file's name without its number (e.g. lesson=reading-csv)"]
    (course / "01-module-1" / "04-check.md").write_text(
        "---\ntype: quiz\ntitle: Check\n---\nRead lesson 1 first.\n\n## Q {lesson=lesson-1}\n= 3\n")
    result = load_courses(course)
    quiz_item = next(i for i in result.courses[0].items if i.kind == "quiz")
    assert quiz_item.html == "<p>Read lesson 1 first.</p>"
