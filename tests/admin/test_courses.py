"""Course folders: their state against the catalog, the preview (which writes nothing), the sync,
and folder names that try to leave the courses folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import func, select, text

from lms.audit.models import AuditEvent
from lms.catalog.models import Course, Item
from lms.content import load_courses
from lms.db import Base, utcnow
from lms.jobs.models import Job
from lms.quizzes.models import QuestionVersion
from tests.conftest import write_course

QUIZ = ("---\ntype: quiz\ntitle: Module 1 check\n---\n## First question?\n- [x] yes\n- [ ] no\n\n"
        "## Second question?\n- [x] a\n- [ ] b\n")


QUESTIONS_LINE = ('<li><code>module-1/check</code>: added <span class="question-keys">third-question</span>; '
                  'changed <span class="question-keys">first-question</span>; '
                  'removed <span class="question-keys">second-question</span></li>')


def _quiz_course(root: Path, slug: str = "quiz-course") -> Path:
    folder = write_course(root, slug, modules=2, lessons=2)
    (folder / "01-module-1" / "03-check.md").write_text(QUIZ)
    return folder


def _sync_folder(app, db, folder: Path) -> None:
    from lms.catalog.services import sync_courses

    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()


def _row_counts(db) -> dict[str, int]:
    db.rollback()
    return {t.name: db.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def _files(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()


def _rows(page: str) -> list[tuple[str, str]]:
    """(folder name, the rest of its row) from the list of folders."""
    return re.findall(r'<span class="meta">([a-z-]+)/(.*?)</tr>', page, re.S)


def _hash_field(page: str) -> str:
    return re.search(r'name="content_hash" value="([0-9a-f]{64})"', page).group(1)


def test_the_list_shows_each_folders_state(app, db, as_admin, courses_root):
    _sync_folder(app, db, write_course(courses_root, "in-step"))
    changed = write_course(courses_root, "edited-since")
    _sync_folder(app, db, changed)
    (changed / "01-module-1" / "01-lesson-1.md").write_text("---\ntitle: Lesson 1.1\n---\nNew text.\n")
    write_course(courses_root, "brand-new")
    broken = write_course(courses_root, "broken-course")
    (broken / "course.yml").write_text("title: [unclosed\n")
    (courses_root / "_pathways").mkdir()
    page = as_admin.client.get("/admin/courses").get_data(as_text=True)
    rows = dict(_rows(page))
    assert set(rows) == {"in-step", "edited-since", "brand-new", "broken-course"}
    assert "Synced" in rows["in-step"] and "Changed on disk" in rows["edited-since"]
    assert "Not yet synced" in rows["brand-new"] and "Has errors" in rows["broken-course"]
    assert "1 error" in rows["broken-course"] and "See the errors" in rows["broken-course"]


def test_the_list_flags_courses_overdue_for_review(app, db, as_admin, courses_root):
    _sync_folder(app, db, write_course(courses_root, "old-review", extra_course_yml="review_every: 1\n"))
    _sync_folder(app, db, write_course(courses_root, "fresh-review"))
    db.execute(text("UPDATE courses SET reviewed_on = :d WHERE slug = 'fresh-review'"),
               {"d": utcnow().date()})
    db.commit()
    page = as_admin.client.get("/admin/courses").get_data(as_text=True)
    rows = dict(_rows(page))
    assert "Overdue for review" in rows["old-review"]  # reviewed 2026-10-01, every month
    assert "Overdue for review" not in rows["fresh-review"]


def test_two_folders_with_one_slug_are_errors(as_admin, courses_root):
    write_course(courses_root, "first-copy", extra_course_yml="slug: same-course\n")
    write_course(courses_root, "second-copy", extra_course_yml="slug: same-course\n")
    page = as_admin.client.get("/admin/courses").get_data(as_text=True)
    assert "the slug same-course is also used by second-copy" in page
    page = as_admin.client.get("/admin/courses/first-copy/preview").get_data(as_text=True)
    assert "has a course with the same slug" in page and 'name="content_hash"' not in page


def test_the_preview_of_a_new_course_lists_everything_and_writes_nothing(app, db, as_admin, courses_root):
    _quiz_course(courses_root)
    media = app.config["LMS_SETTINGS"].media_dir
    before, files_before = _row_counts(db), _files(media)
    response = as_admin.client.get("/admin/courses/quiz-course/preview")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "New in the catalog" in page
    assert "Modules that would be added (2)" in page and "Items that would be added (5)" in page
    assert "<code>quiz module-1/check</code>" in page
    assert ('<code>module-1/check</code>: added <span class="question-keys">first-question, second-question</span>'
            in page)  # the quiz's questions, added
    assert "The course's credential would be defined (credential (version 1))" in page
    assert _row_counts(db) == before
    assert _files(media) == files_before
    assert db.scalar(select(func.count()).select_from(Job)) == 0


def test_the_preview_of_a_changed_course_shows_changes_writes_nothing_and_the_sync_matches(app, db, as_admin,
                                                                                          courses_root, make_user,
                                                                                          enroll):
    folder = _quiz_course(courses_root)
    _sync_folder(app, db, folder)
    course = db.scalar(select(Course).where(Course.slug == "quiz-course"))
    enroll(make_user("enrolled@example.com"), course)
    # A lesson edited, a module removed, a question changed, one removed and one added, a new asset, and the
    # credential renamed.
    (folder / "01-module-1" / "01-lesson-1.md").write_text("---\ntitle: Lesson 1.1\n---\nRewritten.\n")
    (folder / "01-module-1" / "03-check.md").write_text(
        "---\ntype: quiz\ntitle: Module 1 check\n---\n## First question?\n- [x] yes, really\n- [ ] no\n\n"
        "## Third question?\n- [x] c\n- [ ] d\n")
    for path in sorted((folder / "02-module-2").iterdir()):
        path.unlink()
    (folder / "02-module-2").rmdir()
    (folder / "assets" / "extra.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><title>e</title></svg>')
    (folder / "course.yml").write_text((folder / "course.yml").read_text() + "credential:\n  name: Quiz Expert\n")
    media = app.config["LMS_SETTINGS"].media_dir
    before, files_before = _row_counts(db), _files(media)
    page = as_admin.client.get("/admin/courses/quiz-course/preview").get_data(as_text=True)
    assert _row_counts(db) == before, "the preview wrote rows"
    assert _files(media) == files_before, "the preview left files in the media folder"
    assert "Modules that would be retired (1)" in page and "<code>module-2</code>" in page
    assert "Items that would change (2)" in page  # the lesson and the quiz
    assert "<code>lesson module-1/lesson-1</code>" in page and "<code>quiz module-1/check</code>" in page
    assert "Items that would be retired (2)" in page
    credentials = re.search(r"<h2>Credentials</h2>(.*?)<h2>", page, re.S).group(1)
    assert "The credential's definition would change (credential (version 2))" in credentials, credentials
    assert "No credential of this course has been issued yet." in credentials
    assert QUESTIONS_LINE in page
    assert re.search(r"Learners enrolled</span> 1<", page)

    response = as_admin.post("/admin/courses/quiz-course/sync", {"content_hash": _hash_field(page)},
                             form_page="/admin/courses")
    assert response.status_code == 302
    result = as_admin.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Synced." in result
    assert "Modules retired (1)" in result and "Items changed (2)" in result and "Items retired (2)" in result
    assert "The credential's definition changed (credential (version 2))" in result
    assert QUESTIONS_LINE in result
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Item).where(Item.course_id == course.id,
                                                                  Item.retired_at.is_(None))) == 3
    assert db.scalar(select(func.count()).select_from(QuestionVersion).where(QuestionVersion.retired_at.is_(None))) == 2
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "course.sync"))
    assert event.subject_id == course.id and event.data["status"] == "updated" and event.actor_id is not None
    assert "@" not in repr(event.data)  # no personal data in the audit log
    assert any(name.endswith(".svg") for name in _files(media) - files_before)  # the apply stores the new asset
    # Now in step: the preview says so and offers no sync.
    page = as_admin.client.get("/admin/courses/quiz-course/preview").get_data(as_text=True)
    assert "Nothing would change" in page and 'name="content_hash"' not in page


def test_the_apply_refuses_when_the_folder_changed_since_the_preview(app, db, as_admin, courses_root):
    folder = write_course(courses_root, "moving-course")
    page = as_admin.client.get("/admin/courses/moving-course/preview").get_data(as_text=True)
    previewed = _hash_field(page)
    (folder / "01-module-1" / "01-lesson-1.md").write_text("---\ntitle: Lesson 1.1\n---\nEdited after the preview.\n")
    before = _row_counts(db)
    response = as_admin.post("/admin/courses/moving-course/sync", {"content_hash": previewed},
                             form_page="/admin/courses")
    assert response.status_code == 409
    assert "The folder changed since the preview" in response.get_data(as_text=True)
    assert _row_counts(db) == before
    # Without a hash (a hand-made request), nothing is synced either.
    assert as_admin.post("/admin/courses/moving-course/sync", {}, form_page="/admin/courses").status_code == 409
    # Broken after the preview: refused, and the preview shows why.
    (folder / "course.yml").write_text("summary: no title\n")
    response = as_admin.post("/admin/courses/moving-course/sync", {"content_hash": previewed},
                             form_page="/admin/courses")
    assert response.status_code == 409 and "has errors now" in response.get_data(as_text=True)
    assert _row_counts(db) == before


def test_a_broken_folder_shows_its_errors_with_file_and_line_as_the_check_does(app, as_admin, courses_root):
    folder = write_course(courses_root, "broken-course")
    (folder / "01-module-1" / "02-lesson-2.md").write_text("---\ntitle: Lesson\nminutes: lots\n---\nBody\n")
    (folder / "01-module-1" / "03-check.md").write_text("---\ntype: quiz\ntitle: Check\n---\n## Q {type=single}\n"
                                                       "- [x] a\n- [x] b\n")
    output = app.test_cli_runner().invoke(args=["courses", "check", str(folder)])
    assert output.exit_code == 1
    # (Click 8.2 mixes standard error into ``output``; older versions keep it in ``stderr``.)
    printed = output.output + (getattr(output, "stderr", "") if "error" not in output.output else "")
    check_lines = [line for line in printed.splitlines() if ": error: " in line]
    assert len(check_lines) >= 2 and any(":3: error:" in line for line in check_lines), printed
    response = as_admin.client.get("/admin/courses/broken-course/preview")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "The folder does not load" in page
    for line in check_lines:
        assert f"<li><code>{escape(line)}</code></li>" in page, line
    assert 'name="content_hash"' not in page


@pytest.mark.parametrize("path", ["/admin/courses/../preview", "/admin/courses/..%2F..%2Fetc/preview",
                                  "/admin/courses/%2Fetc/preview", "/admin/courses/_pathways/preview",
                                  "/admin/courses/no-such-folder/preview", "/admin/courses/.hidden/preview",
                                  "/admin/courses/outside/preview", "/admin/courses/..%5Coutside/preview"])
def test_folder_names_outside_the_listed_ones_are_not_found(db, as_admin, courses_root, tmp_path, path):
    outside = write_course(tmp_path / "elsewhere", "outside")
    os.symlink(outside, courses_root / "outside")  # a symbolic link out of the root
    (courses_root / "_pathways").mkdir()
    (courses_root / ".hidden").mkdir()
    write_course(courses_root, "real-course")
    # (A doubled slash is first redirected to the single-slash address, which is not found either.)
    assert as_admin.client.get(path, follow_redirects=True).status_code == 404
    post_path = path.replace("/preview", "/sync")
    response = as_admin.post(post_path, {"content_hash": "0" * 64}, form_page="/admin/courses")
    assert response.status_code in (308, 404)
    if response.status_code == 308:
        assert as_admin.client.get(response.headers["Location"].replace("/sync", "/preview")).status_code == 404
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Course)) == 0


def test_the_symlinked_folder_is_not_listed(as_admin, courses_root, tmp_path):
    os.symlink(write_course(tmp_path / "elsewhere", "outside"), courses_root / "outside")
    write_course(courses_root, "real-course")
    page = as_admin.client.get("/admin/courses").get_data(as_text=True)
    assert "real-course/" in page and "outside/" not in page


def test_the_result_page_shows_only_sync_records_of_its_folder(app, db, as_admin, courses_root):
    write_course(courses_root, "one-course")
    page = as_admin.client.get("/admin/courses/one-course/preview").get_data(as_text=True)
    response = as_admin.post("/admin/courses/one-course/sync", {"content_hash": _hash_field(page)},
                             form_page="/admin/courses")
    location = response.headers["Location"]
    event_id = int(location.rsplit("/", 1)[1])
    assert as_admin.client.get(location).status_code == 200
    write_course(courses_root, "other-course")
    assert as_admin.client.get(f"/admin/courses/other-course/syncs/{event_id}").status_code == 404
    assert as_admin.client.get(f"/admin/courses/one-course/syncs/{event_id + 100}").status_code == 404


def test_the_sync_form_needs_its_csrf_token(as_admin, courses_root):
    write_course(courses_root, "csrf-course")
    response = as_admin.client.post("/admin/courses/csrf-course/sync", data={"content_hash": "0" * 64})
    assert response.status_code == 400


def test_the_preview_is_the_same_on_the_command_line_sync(app, db, as_admin, courses_root):
    """What the preview lists is what `flask courses sync` then reports for the folder."""
    folder = _quiz_course(courses_root, "cli-course")
    page = as_admin.client.get("/admin/courses/cli-course/preview").get_data(as_text=True)
    output = app.test_cli_runner().invoke(args=["courses", "sync", str(folder)])
    assert output.exit_code == 0, output.output
    for line in output.output.splitlines():
        if line.startswith("  + "):
            assert f"<code>{line[4:].removeprefix('module ')}</code>" in page or line[4:].startswith("credential")
