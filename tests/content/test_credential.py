"""course.yml's `credential:`: defaults from the course, requirements checked against what it holds."""

from __future__ import annotations

import textwrap

import pytest

from lms.content import load_courses
from tests.conftest import write_course
from tests.content.test_capstone import BASE as CAPSTONE_MD

QUIZ = "---\ntype: quiz\ntitle: {title}\n{extra}---\n## Q?\n- [x] yes\n- [ ] no\n"


def _course(tmp_path, credential: str = "", *, capstone=True, recertification=False, quizzes=(1, 2)):
    """A course with module quizzes in the given modules; course.yml's credential text starts on line 8."""
    folder = write_course(tmp_path, "cred-course", extra_course_yml=textwrap.dedent(credential))
    for module in quizzes:
        (folder / f"{module:02d}-module-{module}" / "09-check.md").write_text(
            QUIZ.format(title=f"Module {module} check", extra=""))
    if recertification:
        (folder / "02-module-2" / "10-renew.md").write_text(
            QUIZ.format(title="Renewal", extra="role: recertification\n"))
    if capstone:
        (folder / "capstone.md").write_text(CAPSTONE_MD)
    return folder


def _errors(folder) -> list[str]:
    return [str(p) for p in load_courses(folder).errors]


def test_without_the_key_a_course_awards_the_default_credential(tmp_path):
    result = load_courses(_course(tmp_path))
    assert result.ok, [str(p) for p in result.problems]
    rule = result.courses[0].credential
    assert rule.name == "Cred Course" and rule.description.startswith("A course used by the tests")
    assert rule.required_quizzes == ("module-1/check", "module-2/check") and rule.requires_capstone
    assert [s.name for s in rule.skills] == ["testing", "cred-course"]
    assert rule.valid_for_months is None and rule.recertify_by is None
    assert rule.criteria == ("Pass each quiz: Module 1 check, Module 2 check. Pass the capstone project, "
                             "reviewed by a grader against its published rubric.")


def test_a_course_without_assessments_awards_none_and_false_turns_it_off(tmp_path):
    plain = write_course(tmp_path / "a", "plain-course")
    assert load_courses(plain).courses[0].credential is None
    off = _course(tmp_path / "b", "credential: false\n")
    result = load_courses(off)
    assert result.ok and result.courses[0].credential is None


def test_a_full_credential_section(tmp_path):
    folder = _course(tmp_path, """\
        credential:
          name: Cred Practitioner
          criteria: Passed module 2 and the capstone.
          image: assets/diagram.svg
          skills:
            - pandas
            - name: data cleaning
              url: https://esco.example/skill/1
              framework: ESCO
              code: S1
          requires:
            quizzes: [module-2/check]
          valid_for_months: 24
        """, recertification=True)
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.problems]
    rule = result.courses[0].credential
    assert rule.required_quizzes == ("module-2/check",) and rule.requires_capstone
    assert rule.skills[1].url == "https://esco.example/skill/1" and rule.skills[1].framework == "ESCO"
    assert rule.valid_for_months == 24 and rule.recertify_by == "quiz"  # the course has a recertification quiz
    assert rule.to_json()["requires"] == {"quizzes": ["module-2/check"], "capstone": True}


@pytest.mark.parametrize("credential, kwargs, expected", [
    ("credential:\n  requires:\n    quizzes: [module-9/check]\n", {},
     "cred-course/course.yml:10: error: `module-9/check` is not a module quiz of this course (write "
     "module-slug/quiz-slug); the course's module quizzes are: module-1/check, module-2/check"),
    ("credential:\n  requires:\n    capstone: true\n", {"capstone": False},
     "cred-course/course.yml:10: error: `capstone: true` but the course has no capstone.md"),
    ("credential:\n  requires:\n    quizzes: []\n    capstone: false\n", {},
     "cred-course/course.yml:9: error: the credential requires no assessment: require at least one quiz or the "
     "capstone (a credential for reading lessons certifies nothing), or write `credential: false`"),
    ("credential:\n  image: assets/badge.gif\n", {},
     "cred-course/course.yml:9: error: the credential's image must be a PNG or SVG file, got `assets/badge.gif`"),
    ("credential:\n  image: assets/badge.svg\n", {},
     "cred-course/course.yml:9: error: `assets/badge.svg` is not in the course's assets/ folder; put the badge "
     "image there and write its path, e.g. `image: assets/badge.svg`"),
    ("credential:\n  skills:\n    - name: x\n      url: ftp://example.org/x\n", {},
     "cred-course/course.yml:11: error: a skill's `url` must be an http(s) address, got `ftp://example.org/x`"),
    ("credential:\n  skills:\n    - [a, b]\n", {},
     "cred-course/course.yml:10: error: each skill is a name (`- pandas`) or a mapping with `name:` and "
     "optionally `url:`, `framework:` and `code:`"),
    ("credential:\n  recertify_by: quiz\n", {},
     "cred-course/course.yml:9: error: `recertify_by` applies to a credential that expires: set "
     "`valid_for_months` too, or remove it"),
    ("credential:\n  valid_for_months: 12\n  recertify_by: quiz\n", {},
     "cred-course/course.yml:10: error: `recertify_by: quiz` needs a quiz with `role: recertification` in the "
     "course; add one, or use `recertify_by: capstone`"),
    ("credential:\n  valid_for_months: 0\n", {},
     "cred-course/course.yml:9: error: `valid_for_months` must be at least 1"),
    ("credential:\n  nmae: Typo\n", {},
     "cred-course/course.yml:9: error: unknown key `nmae` in `credential`; did you mean `name`? allowed keys: "
     "name, description, criteria, image, skills, requires, valid_for_months, recertify_by"),
    ("credential: yes please\n", {},
     "cred-course/course.yml:8: error: `credential` holds settings: write `credential:` alone on its line and "
     "its settings below it, indented (`key: value`)"),
])
def test_credential_mistakes_are_reported_on_their_line(tmp_path, credential, kwargs, expected):
    assert _errors(_course(tmp_path, credential, **kwargs)) == [expected]


def test_an_expiring_credential_renews_by_the_capstone_when_there_is_no_recertification_quiz(tmp_path):
    result = load_courses(_course(tmp_path, "credential:\n  valid_for_months: 12\n"))
    assert result.ok and result.courses[0].credential.recertify_by == "capstone"
    no_way = _course(tmp_path / "x", "credential:\n  valid_for_months: 12\n", capstone=False)
    assert _errors(no_way) == ["cred-course/course.yml:9: error: an expiring credential needs a way to renew it: "
                               "add a quiz with `role: recertification` or a capstone"]


def test_a_change_to_the_credential_changes_the_courses_content_hash(tmp_path):
    first = load_courses(_course(tmp_path / "a")).courses[0]
    second = load_courses(_course(tmp_path / "b", "credential:\n  name: Renamed\n")).courses[0]
    assert first.content_hash != second.content_hash
