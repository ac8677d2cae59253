"""Adaptive paths: module and course prerequisites, test-out with placement quizzes, lessons to study
after a failed quiz, the audit and credential tracks, and lessons updated since they were read."""

from __future__ import annotations

import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from lms.catalog.models import Course, Item
from lms.catalog.services import get_outline, sync_courses
from lms.content import load_courses
from lms.credentials.eligibility import course_blockers
from lms.credentials.models import Credential
from lms.db import utcnow
from lms.enrollments import services as enrollments
from lms.enrollments.models import Enrollment, ItemCompletion
from lms.quizzes import services as quizzes
from lms.quizzes.demo import pass_quiz
from tests.conftest import write_course

PLACEMENT = """---
type: quiz
title: Test out of module {m}
role: placement
pass_score: 50
---
## What does `len([1, 2])` return? {{lesson=lesson-1}}
- [x] 2
- [ ] 3

## Capital of France?
= Paris
"""

MODULE_QUIZ = """---
type: quiz
title: Module {m} check
pass_score: 50
---
## Two plus two?
= 4

## Three plus three?
= 6
"""


def _write(root, slug="adaptive", modules=3, prerequisites=None, placement=(), module_quizzes=(),
           extra_course_yml=""):
    folder = write_course(root, slug, modules=modules, lessons=2, extra_course_yml=extra_course_yml)
    for module, required in (prerequisites or {}).items():
        path = folder / f"{module:02d}-module-{module}" / "module.yml"
        path.write_text(f"title: Module {module}\nprerequisites: [{', '.join(f'module-{r}' for r in required)}]\n")
    for module in placement:
        (folder / f"{module:02d}-module-{module}" / "00-test-out.md").write_text(PLACEMENT.format(m=module))
    for module in module_quizzes:
        (folder / f"{module:02d}-module-{module}" / "09-check.md").write_text(MODULE_QUIZ.format(m=module))
    return folder


def _sync(db, app, folder):
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    return db.scalar(select(Course).where(Course.slug == result.courses[0].slug))


def _problems(folder) -> list[str]:
    return [str(p) for p in load_courses(folder).errors]


def _item(db, course, module, slug) -> Item:
    from lms.catalog.models import Module
    return db.scalar(select(Item).join(Module, Module.id == Item.module_id)
                     .where(Item.course_id == course.id, Module.slug == f"module-{module}", Item.slug == slug))


def _read_module(db, enrollment, course, module):
    for n in (1, 2):
        enrollments.complete_item(db, enrollment.id, _item(db, course, module, f"lesson-{n}").id, "read")
    db.commit()


def _fail_quiz(db, enrollment_id, item_id):
    quiz = quizzes.get_quiz(db, item_id)
    attempt = quizzes.start_attempt(db, enrollment_id, quiz, utcnow())
    attempt = quizzes.submit_attempt(db, attempt.id, utcnow(), quiz)
    db.commit()
    return attempt


# -- the course format ----------------------------------------------------------------------------

def test_module_prerequisites_must_name_earlier_modules(courses_root):
    folder = _write(courses_root, prerequisites={2: [3], 3: [3]})
    problems = _problems(folder)
    assert any("02-module-2/module.yml:2" in p and "`module-3` is not an earlier module" in p
               and "earlier modules: `module-1`" in p for p in problems), problems
    assert any("03-module-3/module.yml:2" in p and "`module-3` is this module" in p for p in problems), problems
    (folder / "01-module-1" / "module.yml").write_text("title: Module 1\nprerequisites: [nothing]\n")
    assert any("none: this is the first module" in p for p in _problems(folder))


def test_a_module_has_at_most_one_placement_quiz(courses_root):
    folder = _write(courses_root, placement=(1,))
    (folder / "01-module-1" / "08-second.md").write_text(PLACEMENT.format(m=1))
    problems = _problems(folder)
    assert any("08-second.md" in p and "at most one placement quiz" in p for p in problems), problems


def test_course_prerequisites_are_checked_across_the_folder(courses_root):
    _write(courses_root, "first", extra_course_yml="prerequisites: [second]\n")
    _write(courses_root, "second", extra_course_yml="prerequisites: [first, missing]\n")
    problems = [str(p) for p in load_courses(courses_root).errors]
    assert any("second/course.yml" in p and "no course `missing`" in p for p in problems), problems
    assert any("go round in a circle (first -> second -> first)" in p for p in problems), problems
    _write(courses_root, "third", extra_course_yml="prerequisites: [third]\n")
    assert any("`third` is this course" in str(p) for p in load_courses(courses_root / "third").errors)


def test_test_out_needs_a_placement_quiz(courses_root):
    folder = _write(courses_root, module_quizzes=(1,),
                    extra_course_yml="credential:\n  requires:\n    test_out: true\n")
    assert any("`test_out: true` but no module with a required quiz has a placement quiz" in p
               for p in _problems(folder))


def test_placement_and_recertification_quizzes_are_not_steps(db, app, courses_root):
    course = _sync(db, app, _write(courses_root, modules=2, placement=(2,), module_quizzes=(1,)))
    outline = get_outline(db, course)
    kinds = [(s.slug, s.quiz_role) for s in outline.steps]
    assert ("test-out", "placement") not in kinds
    assert ("check", "module") in kinds and len(outline.steps) == 5
    assert outline.modules[1].placement.slug == "test-out"


# -- module locks ---------------------------------------------------------------------------------

@pytest.fixture
def locked_course(db, app, courses_root, make_user, enroll):
    course = _sync(db, app, _write(courses_root, prerequisites={2: [1], 3: [2]}, placement=(2,)))
    user = make_user("learner@example.com")
    return course, user, enroll(user, course)


def test_a_locked_module_says_what_unlocks_it(db, auth, client, locked_course):
    course, user, enrollment = locked_course
    auth.login(user.email)
    page = client.get("/courses/adaptive/module-2/lesson-1")
    assert page.status_code == 403
    text = page.get_data(as_text=True)
    assert "This lesson is part of “Module 2”, which opens when you complete “Module 1”." in text
    assert 'href="/courses/adaptive/module-1/lesson-1"' in text  # the next step of what unlocks it
    assert 'href="/courses/adaptive/module-2/test-out"' in text  # or the way past it
    # Marking a locked lesson done is refused with the same reason.
    auth.post("/courses/adaptive/module-2/lesson-1/done", form_page="/courses/adaptive")
    assert db.scalar(select(ItemCompletion).where(ItemCompletion.enrollment_id == enrollment.id)) is None
    course_page = client.get("/courses/adaptive").get_data(as_text=True)
    assert "Module 2 <span class=\"lock-note\">(locked)</span>" in course_page
    assert "Opens when you complete “Module 1”" in course_page


def test_completing_the_prerequisite_opens_the_module_and_locks_chain(db, auth, client, locked_course):
    course, user, enrollment = locked_course
    outline = get_outline(db, course)
    progress = enrollments.summarize(outline, set(), None)
    assert set(progress.locks) == {outline.modules[1].id, outline.modules[2].id}
    _read_module(db, enrollment, course, 1)
    done = enrollments.completed_item_ids(db, [enrollment.id])[enrollment.id]
    progress = enrollments.summarize(outline, done, None)
    assert set(progress.locks) == {outline.modules[2].id}
    assert progress.next_step.slug == "lesson-1" and progress.next_step.module_slug == "module-2"
    auth.login(user.email)
    assert client.get("/courses/adaptive/module-2/lesson-1").status_code == 200
    assert client.get("/courses/adaptive/module-3/lesson-1").status_code == 403


def test_next_step_skips_locked_modules(db, locked_course):
    course, _user, enrollment = locked_course
    outline = get_outline(db, course)
    _read_module(db, enrollment, course, 1)
    module_3 = _item(db, course, 3, "lesson-1")
    done = enrollments.completed_item_ids(db, [enrollment.id])[enrollment.id]
    # Last opened in module 3 (say, before prerequisites were added): "Continue" goes where it can.
    progress = enrollments.summarize(outline, done, module_3.id)
    assert progress.next_step.module_slug == "module-2"


def test_course_staff_are_never_locked(db, auth, client, locked_course, make_user):
    from lms.auth.services import grant
    course, _user, _enrollment = locked_course
    instructor = make_user("teacher@example.com")
    grant(db, instructor, "instructor", course.slug)
    db.commit()
    auth.login(instructor.email)
    assert client.get("/courses/adaptive/module-3/lesson-1").status_code == 200


def test_a_locked_quiz_cannot_be_started(db, app, auth, client, courses_root, make_user, enroll):
    course = _sync(db, app, _write(courses_root, modules=2, prerequisites={2: [1]}, module_quizzes=(2,)))
    user = make_user("learner@example.com")
    enrollment = enroll(user, course)
    auth.login(user.email)
    response = auth.post("/courses/adaptive/module-2/check/attempts", form_page="/courses/adaptive")
    assert response.status_code == 302
    assert db.scalar(select(quizzes.QuizAttempt).where(quizzes.QuizAttempt.enrollment_id == enrollment.id)) is None


# -- test-out --------------------------------------------------------------------------------------

def test_passing_the_placement_quiz_masters_the_module(db, auth, client, locked_course):
    course, user, enrollment = locked_course
    placement = _item(db, course, 2, "test-out")
    pass_quiz(db, enrollment.id, placement.id, utcnow())  # open although module 2 is locked
    db.commit()
    rows = dict(db.execute(select(ItemCompletion.item_id, ItemCompletion.how)
                           .where(ItemCompletion.enrollment_id == enrollment.id)).all())
    assert rows == {_item(db, course, 2, "lesson-1").id: "tested_out",
                    _item(db, course, 2, "lesson-2").id: "tested_out", placement.id: "passed"}
    outline = get_outline(db, course)
    progress = enrollments.summarize(outline, set(rows), None)
    assert progress.done == 2 and progress.total == 6
    # Module 3 needs module 2, which is mastered: only module 2's own prerequisite (1) is still open.
    assert outline.modules[2].id not in progress.locks
    auth.login(user.email)
    page = client.get("/courses/adaptive").get_data(as_text=True)
    assert '<span class="done-badge">Mastered</span>' in page


def test_failing_the_placement_quiz_lists_the_lessons_to_study(db, auth, client, locked_course):
    course, user, enrollment = locked_course
    placement = _item(db, course, 2, "test-out")
    auth.login(user.email)
    auth.post("/courses/adaptive/module-2/test-out/attempts", form_page="/courses/adaptive/module-2/test-out")
    auth.post("/courses/adaptive/module-2/test-out/attempts/1", {"action": "submit"},
              form_page="/courses/adaptive/module-2/test-out/attempts/1")
    review = client.get("/courses/adaptive/module-2/test-out/attempts/1").get_data(as_text=True)
    assert "Not tested out yet: study these lessons" in review
    # The first question names lesson-1; the second names none, so it points to the module's lessons.
    assert review.count('href="/courses/adaptive/module-2/lesson-1">2.2 Lesson 2.1</a>') >= 2
    assert 'href="/courses/adaptive/module-2/lesson-2">2.3 Lesson 2.2</a>' in review
    assert db.scalar(select(ItemCompletion).where(ItemCompletion.enrollment_id == enrollment.id,
                                                  ItemCompletion.item_id != placement.id)) is None


@pytest.mark.parametrize("accepted", [False, True])
def test_the_credential_accepts_test_out_only_when_the_course_says_so(db, app, courses_root, make_user, enroll,
                                                                      accepted):
    extra = "credential:\n  requires:\n    capstone: false\n" + ("    test_out: true\n" if accepted else "")
    course = _sync(db, app, _write(courses_root, modules=2, placement=(2,), module_quizzes=(1, 2),
                                   extra_course_yml=extra))
    user = make_user("learner@example.com")
    enrollment = enroll(user, course)
    pass_quiz(db, enrollment.id, _item(db, course, 1, "check").id, utcnow())
    pass_quiz(db, enrollment.id, _item(db, course, 2, "test-out").id, utcnow())
    db.commit()
    blockers = [b.message for b in course_blockers(db, user.id, course.id).blockers]
    credential = db.scalar(select(Credential).where(Credential.user_id == user.id))
    if accepted:
        assert blockers == [] and credential is not None
        evidence = credential.document["evidence"]
        assert any(e.get("genre") == "Placement test" and "Tested out of the module “Module 2”" in e["narrative"]
                   for e in evidence), evidence
    else:
        assert blockers == ["Pass the quiz “Module 2 check” (testing out of its module does not count for the "
                            "credential)"]
        assert credential is None


def test_a_failed_module_quiz_points_to_the_module_lessons(db, app, auth, client, courses_root, make_user, enroll):
    _sync(db, app, _write(courses_root, modules=1, module_quizzes=(1,)))
    user = make_user("learner@example.com")
    auth.login(user.email)
    course = db.scalar(select(Course).where(Course.slug == "adaptive"))
    enroll(user, course)
    url = "/courses/adaptive/module-1/check"
    auth.post(f"{url}/attempts", form_page=url)
    auth.post(f"{url}/attempts/1", {"action": "submit"}, form_page=f"{url}/attempts/1")
    review = client.get(f"{url}/attempts/1").get_data(as_text=True)
    assert "Lessons to study before your next attempt" in review
    assert ('Study this again: <a href="/courses/adaptive/module-1/lesson-1">1.1 Lesson 1.1</a>, '
            '<a href="/courses/adaptive/module-1/lesson-2">1.2 Lesson 1.2</a>') in review


# -- course prerequisites ----------------------------------------------------------------------------

def test_enrolling_waits_for_the_prerequisite_course(db, app, auth, client, courses_root, make_user, enroll):
    _write(courses_root, "basics", modules=1)
    _write(courses_root, "advanced", modules=1, extra_course_yml="prerequisites: [basics]\n")
    result = load_courses(courses_root)
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    basics, advanced = (db.scalar(select(Course).where(Course.slug == s)) for s in ("basics", "advanced"))
    user = make_user("learner@example.com")
    with pytest.raises(enrollments.PrerequisitesNotMet, match="Complete “Basics” first"):
        enrollments.enroll(db, user.id, advanced)
    db.rollback()
    first = enroll(user, basics)
    auth.login(user.email)
    page = client.get("/courses/advanced").get_data(as_text=True)
    assert "Before this course" in page and "(you are 0% through)" in page
    response = auth.post("/courses/advanced/enroll", {"track": "credential"}, form_page="/courses/advanced")
    assert response.status_code == 302 and response.location.endswith("/courses/advanced")
    assert db.scalar(select(Enrollment).where(Enrollment.course_id == advanced.id)) is None
    follow = client.get("/courses/advanced").get_data(as_text=True)
    assert "Complete “Basics” (0% done) first, then enroll in this course." in follow
    _read_module(db, first, basics, 1)
    response = auth.post("/courses/advanced/enroll", {"track": "credential"}, form_page="/courses/advanced")
    assert db.scalar(select(Enrollment).where(Enrollment.course_id == advanced.id)) is not None


def test_a_retired_prerequisite_locks_nothing(db, app, courses_root, make_user):
    course = _sync(db, app, _write(courses_root, "later", modules=1))
    course.prerequisites = ["gone"]
    db.commit()
    user = make_user("learner@example.com")
    assert enrollments.unmet_prerequisites(db, user.id, course) == []


# -- tracks -----------------------------------------------------------------------------------------

def test_switching_to_the_credential_track_keeps_progress_and_issues(db, app, auth, client, courses_root,
                                                                     make_user, enroll):
    course = _sync(db, app, _write(courses_root, modules=1, module_quizzes=(1,),
                                   extra_course_yml="credential:\n  requires:\n    capstone: false\n"))
    user = make_user("learner@example.com")
    enrollment = enroll(user, course, track="audit")
    pass_quiz(db, enrollment.id, _item(db, course, 1, "check").id, utcnow())
    db.commit()
    assert db.scalar(select(Credential).where(Credential.user_id == user.id)) is None
    auth.login(user.email)
    page = client.get("/courses/adaptive").get_data(as_text=True)
    assert "Switch to the credential track" in page
    auth.post("/courses/adaptive/track", form_page="/courses/adaptive")
    db.expire_all()
    assert db.get(Enrollment, enrollment.id).track == "credential"
    assert db.scalar(select(ItemCompletion).where(ItemCompletion.enrollment_id == enrollment.id)) is not None
    assert db.scalar(select(Credential).where(Credential.user_id == user.id)) is not None
    # Pressing it again changes nothing, and an expired form is refused with a message.
    assert enrollments.switch_to_credential_track(db, user.id, course.id) is False
    response = client.post("/courses/adaptive/track", data={})
    assert response.status_code in (302, 400)


def test_switching_track_when_not_enrolled_is_refused(db, app, auth, client, courses_root, make_user):
    course = _sync(db, app, _write(courses_root, modules=1))
    user = make_user("learner@example.com")
    with pytest.raises(enrollments.NotFound):
        enrollments.switch_to_credential_track(db, user.id, course.id)
    db.rollback()  # (its UPDATE of no row holds SQLite's write lock until then; logging in writes)
    auth.login(user.email)
    response = auth.post("/courses/adaptive/track", form_page="/courses/adaptive")
    assert response.status_code in (302, 403)


# -- lessons updated since they were read --------------------------------------------------------------

def test_a_changed_lesson_is_marked_until_read_again(db, app, auth, client, courses_root, make_user, enroll):
    folder = _write(courses_root, modules=1)
    course = _sync(db, app, folder)
    user = make_user("learner@example.com")
    enrollment = enroll(user, course)
    _read_module(db, enrollment, course, 1)
    db.execute(update(Item).values(updated_at=utcnow() - timedelta(days=4)))  # synced, then read
    db.execute(update(ItemCompletion).values(completed_at=utcnow() - timedelta(days=3)))
    db.commit()
    lesson = folder / "01-module-1" / "02-lesson-2.md"
    lesson.write_text(lesson.read_text().replace("Body of lesson 1.2.", "Body of lesson 1.2, revised."))
    _sync(db, app, folder)
    auth.login(user.email)
    course_page = client.get("/courses/adaptive").get_data(as_text=True)
    assert course_page.count("(updated since you read it)") == 1
    first = client.get("/courses/adaptive/module-1/lesson-2").get_data(as_text=True)
    assert "This lesson was updated since you read it" in first
    again = client.get("/courses/adaptive/module-1/lesson-2").get_data(as_text=True)
    assert "This lesson was updated since you read it" not in again
    assert "(updated since you read it)" not in client.get("/courses/adaptive").get_data(as_text=True)
    # Still done: progress is kept through the update.
    assert db.scalar(select(ItemCompletion.how).where(ItemCompletion.enrollment_id == enrollment.id,
                                                      ItemCompletion.item_id == _item(db, course, 1, "lesson-2").id)
                     ) == "read"


def test_an_audit_capstone_is_not_submitted(db, app, courses_root, make_user, enroll):
    from lms.capstones import services as capstones
    folder = write_course(courses_root, "with-capstone", modules=1, lessons=1)
    (folder / "capstone.md").write_text(textwrap.dedent("""\
        ---
        title: Final project
        rubric:
          - title: Quality
            levels:
              - {points: 0, title: Missing}
              - {points: 2, title: Good}
        pass: {min_points: 1}
        ---
        Build something.
        """))
    course = _sync(db, app, folder)
    user = make_user("learner@example.com")
    enrollment = enroll(user, course, track="audit")
    record = capstones.live_capstone(db, course.id)
    capstones.save_draft(db, enrollment.id, record, "My work", [])
    db.commit()
    with pytest.raises(capstones.NotReady, match="graded on the credential track"):
        capstones.submit(db, enrollment.id, record)
