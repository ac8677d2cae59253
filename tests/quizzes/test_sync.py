"""Syncing quizzes: settings with defaults, questions versioned by key, nothing lost."""

from __future__ import annotations

from sqlalchemy import select

from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.quizzes.models import QuestionVersion, QuizConfig
from lms.quizzes.sync import question_keys
from tests.conftest import write_course

QUIZ = """---
type: quiz
title: Module 1 check
pass_score: 80
---
## What does `len([1, 2])` return?
- [x] 2
  > Yes.
- [ ] 1

## Capital of France? {key=capital}
= Paris

## Which are mutable?
- [x] list
- [x] dict
- [ ] tuple
"""


def _sync(db, app, folder):
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()


def _live(db):
    db.expire_all()
    return {q.key: q for q in db.scalars(select(QuestionVersion).where(QuestionVersion.retired_at.is_(None)))}


def test_sync_stores_settings_and_questions(db, app, courses_root):
    folder = write_course(courses_root, "c")
    (folder / "01-module-1" / "09-check.md").write_text(QUIZ)
    _sync(db, app, folder)
    config = db.scalars(select(QuizConfig)).one()
    assert config.settings["pass_score"] == 80 and config.settings["feedback"] == "after_submit"
    assert config.role == "module"
    live = _live(db)
    assert sorted(live) == ["capital", "what-does-len-1-2-return", "which-are-mutable"]
    first = live["what-does-len-1-2-return"]
    assert first.version == 1 and first.type == "single" and first.position == 1
    assert first.html["choices.0.text"] == "2" and first.html["choices.0.feedback"] == "<p>Yes.</p>"
    assert first.spec["choices"][0]["fraction"] == 1


def test_changed_question_gets_a_new_version_unchanged_ones_keep_their_row(db, app, courses_root):
    folder = write_course(courses_root, "c")
    quiz_file = folder / "01-module-1" / "09-check.md"
    quiz_file.write_text(QUIZ)
    _sync(db, app, folder)
    before = _live(db)
    quiz_file.write_text(QUIZ.replace("= Paris", "= Paris\n= {50%} Lutetia").replace(
        "## Which are mutable?\n- [x] list\n- [x] dict\n- [ ] tuple\n", ""))
    _sync(db, app, folder)
    after = _live(db)
    assert after["what-does-len-1-2-return"].id == before["what-does-len-1-2-return"].id
    assert after["capital"].version == 2 and after["capital"].id != before["capital"].id
    assert "which-are-mutable" not in after
    all_rows = db.scalars(select(QuestionVersion)).all()
    assert len(all_rows) == 4  # nothing deleted: the old version and the removed question stay
    old_capital = db.get(QuestionVersion, before["capital"].id)
    assert old_capital.retired_at is not None and old_capital.spec["answers"] == [
        {"text": "Paris", "fraction": 1, "regex": False}]


def test_resync_unchanged_quiz_changes_nothing(db, app, courses_root):
    folder = write_course(courses_root, "c")
    (folder / "01-module-1" / "09-check.md").write_text(QUIZ)
    _sync(db, app, folder)
    ids = {q.id for q in _live(db).values()}
    _sync(db, app, folder)
    assert {q.id for q in _live(db).values()} == ids


def test_question_keys_are_stable_slugs_and_unique():
    from lms.questions.model import RichText, ShortAnswer

    questions = [ShortAnswer(RichText("Q"), name="Qué es?"), ShortAnswer(RichText("Q"), name="Qué es?"),
                 ShortAnswer(RichText("Q"), name="x", key="mine"), ShortAnswer(RichText("!!!"))]
    assert question_keys(questions) == ["que-es", "que-es-2", "mine", "question-4"]


def test_the_demo_courses_sync_their_quizzes(db, app):
    from tests.conftest import ROOT

    _sync(db, app, ROOT / "courses")
    assert len(db.scalars(select(QuizConfig)).all()) == 13
    assert [c.role for c in db.scalars(select(QuizConfig))].count("placement") == 1
    assert len(_live(db)) >= 50
