"""courses/_pathways/<slug>.yml: defaults from the courses, and each mistake reported on its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lms.content import load_courses
from lms.content.fields import PATHWAY_FIELDS
from tests.conftest import ROOT, write_course

QUIZ = "---\ntype: quiz\ntitle: {title}\n{extra}---\n## Q?\n- [x] yes\n- [ ] no\n"


def write_quiz_course(root: Path, slug: str, *, credential: str = "", expiring: bool = False) -> Path:
    """A one-lesson course with a module quiz, so it awards a credential; ``expiring``: valid 12 months
    (renewed by a recertification quiz)."""
    if expiring:
        credential = "credential:\n  valid_for_months: 12\n"
    folder = write_course(root, slug, modules=1, lessons=1, extra_course_yml=credential)
    (folder / "01-module-1" / "09-check.md").write_text(QUIZ.format(title=f"{slug} check", extra=""))
    if expiring:
        (folder / "01-module-1" / "10-renew.md").write_text(QUIZ.format(title="Renewal",
                                                                         extra="role: recertification\n"))
    return folder


def write_pathway(root: Path, slug: str, text: str) -> Path:
    path = root / "_pathways" / f"{slug}.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _root(tmp_path, *slugs: str) -> Path:
    root = tmp_path / "courses"
    for slug in slugs or ("course-a", "course-b", "course-c"):
        write_quiz_course(root, slug)
    return root


def _errors(root) -> list[str]:
    return [str(p) for p in load_courses(root).errors]


def test_a_pathway_with_its_defaults(tmp_path):
    root = _root(tmp_path)
    write_pathway(root, "stack", """\
        title: Stack
        summary: Two courses stacked.
        courses: [course-a, course-b]
        """)
    result = load_courses(root)
    assert result.ok, [str(p) for p in result.problems]
    [pathway] = result.pathways
    assert pathway.slug == "stack" and pathway.courses == ("course-a", "course-b")
    assert pathway.required == 2 and pathway.requires_all
    assert pathway.name == "Stack" and pathway.description == "Two courses stacked."
    assert pathway.criteria == ("Hold a current credential of each of these courses: Course A (Course A), "
                                "Course B (Course B).")
    # The courses' credential skills, each once: both have "testing", then their own slug.
    assert [s.name for s in pathway.skills] == ["testing", "course-a", "course-b"]
    assert pathway.source_path == "_pathways/stack.yml" and pathway.image is None


def test_any_n_of_a_list_with_every_key(tmp_path):
    root = _root(tmp_path)
    (root / "_pathways" / "assets").mkdir(parents=True)
    (root / "_pathways" / "assets" / "badge.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    write_pathway(root, "two-of-three", """\
        title: Two of three
        summary: Any two.
        slug: any-two
        name: Any Two Practitioner
        description: Holds two of the three.
        criteria: Hold two.
        image: assets/badge.svg
        skills: [testing, {name: stacking, url: "https://esco.example/skill/9", framework: ESCO}]
        courses:
          - course-c
          - course-a
          - course-b
        require: 2
        """)
    result = load_courses(root)
    assert result.ok, [str(p) for p in result.problems]
    [pathway] = result.pathways
    assert pathway.slug == "any-two" and pathway.required == 2 and not pathway.requires_all
    assert pathway.courses == ("course-c", "course-a", "course-b")  # in the file's order
    assert pathway.name == "Any Two Practitioner" and pathway.criteria == "Hold two."
    assert pathway.skills[1].url == "https://esco.example/skill/9"
    assert pathway.image == "assets/badge.svg" and pathway.assets[0].media_type == "image/svg+xml"


def test_the_default_criteria_of_n_of_a_list(tmp_path):
    root = _root(tmp_path)
    write_pathway(root, "p", "title: P\nsummary: S.\ncourses: [course-a, course-b, course-c]\nrequire: 1\n")
    [pathway] = load_courses(root).pathways
    assert pathway.criteria.startswith("Hold current credentials of any 1 of these 3 courses: Course A (Course A)")


@pytest.mark.parametrize("text, expected", [
    ("title: P\nsummary: S.\ncours: [course-a, course-b]\n",
     "_pathways/p.yml:3: error: unknown key `cours` in a pathway; did you mean `courses`?"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nrequires: 1\n",
     "_pathways/p.yml:4: error: unknown key `requires` in a pathway; did you mean `require`?"),
    ("title: P\nsummary: S.\ncourses:\n  - course-a\n  - corse-b\n",
     "_pathways/p.yml:5: error: `corse-b` is not a course in this folder; did you mean `course-b`? write a "
     "course's slug (its folder name); the courses are: course-a, course-b, course-c, plain"),
    ("title: P\nsummary: S.\ncourses:\n  - course-a\n  - plain\n",
     "_pathways/p.yml:5: error: the course `plain` awards no credential (its course.yml says `credential: false`, "
     "or it has no quiz or capstone), so it cannot count toward a pathway"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nrequire: 3\n",
     "_pathways/p.yml:4: error: `require: 3` but the pathway lists 2 courses; write a number from 1 to 2, "
     "or `require: all`"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nrequire: 0\n",
     "_pathways/p.yml:4: error: `require` must be `all` or a whole number of at least 1, e.g. `require: 2`"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nrequire: most\n",
     "_pathways/p.yml:4: error: `require` must be `all` or a whole number of at least 1"),
    ("title: P\nsummary: S.\ncourses: [course-a]\n",
     "_pathways/p.yml:3: error: a pathway stacks at least two courses"),
    ("title: P\nsummary: S.\ncourses:\n  - course-a\n  - course-b\n  - course-a\n",
     "_pathways/p.yml:6: error: `course-a` is listed twice; list each course once"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nvalid_for_months: 12\n",
     "_pathways/p.yml:4: error: a pathway has no `valid_for_months`: its credential is valid as long as the "
     "course credentials it rests on"),
    ("title: P\nsummary: S.\nslug: course-b\ncourses: [course-a, course-b]\n",
     "_pathways/p.yml:3: error: `course-b` is also a course's slug; a pathway and a course cannot share one"),
    ("summary: S.\ncourses: [course-a, course-b]\n",
     "_pathways/p.yml:1: error: missing required key `title` in a pathway"),
    ("title: P\nsummary: S.\n", "_pathways/p.yml:1: error: missing required key `courses` in a pathway"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nimage: assets/none.svg\n",
     "_pathways/p.yml:4: error: `assets/none.svg` is not in _pathways/assets/; put the badge image there"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nimage: badge.jpg\n",
     "_pathways/p.yml:4: error: the credential's image must be a PNG or SVG file, got `badge.jpg`"),
    ("title: P\nsummary: S.\ncourses: [course-a, course-b]\nskills:\n  - {name: x, url: ftp://x}\n",
     "_pathways/p.yml:5: error: a skill's `url` must be an http(s) address, got `ftp://x`"),
    ("title: P\nsummary: [S.\n", "_pathways/p.yml:3: error: invalid YAML"),
])
def test_each_mistake_is_reported_on_its_line(tmp_path, text, expected):
    root = _root(tmp_path)
    write_course(root, "plain", modules=1, lessons=1)  # no assessment: no credential
    write_pathway(root, "p", text)
    errors = _errors(root)
    assert errors and errors[0].startswith(expected), errors  # (a misspelt key may also leave one missing)


def test_file_names_and_slugs(tmp_path):
    root = _root(tmp_path)
    body = "title: P\nsummary: S.\ncourses: [course-a, course-b]\n"
    write_pathway(root, "Bad_Name", body)
    (root / "_pathways" / "other.yaml").write_text(body)
    write_pathway(root, "first", body + "slug: same\n")
    write_pathway(root, "second", body + "slug: same\n")
    (root / "_pathways" / "notes.txt").write_text("ignored")
    result = load_courses(root)
    messages = [str(p) for p in result.problems]
    assert "_pathways/Bad_Name.yml:1: error: the file name `Bad_Name.yml` does not make a valid pathway slug" \
           in "\n".join(messages)
    assert "_pathways/other.yaml: error: name pathway files `<slug>.yml`: rename it to `other.yml`" in messages
    assert any(m.startswith("_pathways/second.yml: error: pathway slug `same` is already used by "
                            "_pathways/first.yml") for m in messages)
    assert any(m.startswith("_pathways/notes.txt: warning: ignored") for m in messages)


def test_a_course_that_did_not_load_is_not_called_unknown(tmp_path):
    root = _root(tmp_path)
    (root / "course-b" / "course.yml").write_text("title: B\n")  # no summary: the course does not load
    write_pathway(root, "p", "title: P\nsummary: S.\ncourses: [course-a, course-b]\n")
    errors = _errors(root)
    assert "_pathways/p.yml:3: error: the course `course-b` did not load (see its errors above)" in errors[-1]


def test_one_course_folder_reads_no_pathways_and_a_folder_without_them_reads_none(tmp_path):
    root = _root(tmp_path)
    write_pathway(root, "p", "title: P\nsummary: S.\ncourses: [course-a, nope]\n")
    assert load_courses(root / "course-a").ok and load_courses(root / "course-a").pathways is None
    other = _root(tmp_path / "other")
    assert load_courses(other).pathways == []


def test_the_real_courses_folder_has_a_valid_pathway():
    result = load_courses(ROOT / "courses")
    assert result.ok, [str(p) for p in result.errors]
    [pathway] = result.pathways
    assert pathway.slug == "data-practitioner" and pathway.requires_all
    assert set(pathway.courses) == {"python-data-analysis", "sql-fundamentals"}


def test_the_format_documents_every_pathway_key():
    doc = (ROOT / "docs/course-format.md").read_text()
    section = doc[doc.index("## Pathways"):]
    for field in PATHWAY_FIELDS:
        assert f"| `{field.name}` |" in section, f"docs/course-format.md (Pathways) does not document `{field.name}`"
