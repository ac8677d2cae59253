"""The flask commands: clear messages, non-zero exits on failure, nothing half-done."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.auth.models import CourseRole, User
from lms.catalog.models import Course, Item
from lms.enrollments.models import Enrollment
from tests.conftest import ROOT, write_course


def _run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def test_courses_check_ok_and_failing(app, courses_root):
    folder = write_course(courses_root, "c")
    ok = _run(app, "courses", "check", str(folder))
    assert ok.exit_code == 0 and "ok: 1 course(s): c" in ok.output
    (folder / "course.yml").write_text("title: x\n")
    bad = _run(app, "courses", "check", str(folder))
    assert bad.exit_code == 1
    assert "c/course.yml:1: error: missing required key `summary`" in bad.output
    assert "1 error(s)" in bad.output


def test_sync_refuses_a_course_with_errors_and_changes_nothing(app, db, courses_root):
    write_course(courses_root, "good")
    broken = write_course(courses_root, "broken")
    (broken / "01-module-1" / "01-lesson-1.md").write_text("---\ntitle: [oops\n---\n")
    result = _run(app, "courses", "sync", str(courses_root))
    assert result.exit_code == 1 and "nothing was changed" in result.output
    assert db.scalar(select(func.count(Course.id))) == 0


def test_sync_the_real_courses_twice(app, db):
    first = _run(app, "courses", "sync", str(ROOT / "courses"))
    assert first.exit_code == 0, first.output
    count = db.scalar(select(func.count(Item.id)))
    second = _run(app, "courses", "sync", str(ROOT / "courses"))
    assert second.exit_code == 0 and "unchanged" in second.output
    assert db.scalar(select(func.count(Item.id))) == count


def test_users_create_grant_revoke(app, db, courses_root):
    write_course(courses_root, "c")
    _run(app, "courses", "sync", str(courses_root))
    created = _run(app, "users", "create", "Teacher@Example.com", "--name", "Tea Cher", "--password",
                   "long enough password")
    assert created.exit_code == 0 and "created teacher@example.com" in created.output
    granted = _run(app, "users", "grant", "teacher@example.com", "instructor", "--course", "c")
    assert granted.exit_code == 0 and "granted instructor of c" in granted.output
    again = _run(app, "users", "grant", "teacher@example.com", "instructor", "--course", "c")
    assert "already had" in again.output
    assert db.scalar(select(func.count(CourseRole.id))) == 1
    admin = _run(app, "users", "grant", "teacher@example.com", "admin")
    assert admin.exit_code == 0
    listed = _run(app, "users", "list")
    assert "admin instructor:c" in listed.output
    revoked = _run(app, "users", "revoke", "teacher@example.com", "instructor", "--course", "c")
    assert revoked.exit_code == 0
    assert db.scalar(select(func.count(CourseRole.id))) == 0


def test_users_commands_explain_bad_input(app, db):
    weak = _run(app, "users", "create", "a@example.com", "--name", "A", "--password", "short")
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    bad_email = _run(app, "users", "create", "not-an-email", "--name", "A", "--password", "long enough password")
    assert bad_email.exit_code == 1 and "valid email" in bad_email.output
    nobody = _run(app, "users", "grant", "ghost@example.com", "admin")
    assert nobody.exit_code == 1 and "no account with email" in nobody.output
    _run(app, "users", "create", "a@example.com", "--name", "A", "--password", "long enough password")
    no_course = _run(app, "users", "grant", "a@example.com", "grader")
    assert no_course.exit_code == 1 and "--course SLUG" in no_course.output
    unknown = _run(app, "users", "grant", "a@example.com", "grader", "--course", "nope")
    assert unknown.exit_code == 1 and "No course with slug" in unknown.output
    duplicate = _run(app, "users", "create", "A@example.com", "--name", "A", "--password", "long enough password")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    assert db.scalar(select(func.count(User.id))) == 1


def test_password_is_prompted_when_not_given(app, db):
    result = _run(app, "users", "create", "p@example.com", "--name", "P",
                  input="typed in password\ntyped in password\n")
    assert result.exit_code == 0
    assert db.scalar(select(User).where(User.email == "p@example.com")) is not None


def test_demo_is_idempotent_and_needs_courses(app, db):
    empty = _run(app, "demo")
    assert empty.exit_code == 1 and "flask courses sync" in empty.output
    _run(app, "courses", "sync", str(ROOT / "courses"))
    first = _run(app, "demo", "--password", "demo password 123")
    assert first.exit_code == 0 and "learner@example.com" in first.output
    counts = (db.scalar(select(func.count(User.id))), db.scalar(select(func.count(Enrollment.id))))
    second = _run(app, "demo", "--password", "demo password 123")
    assert second.exit_code == 0
    assert (db.scalar(select(func.count(User.id))), db.scalar(select(func.count(Enrollment.id)))) == counts
    assert counts[0] >= 7
