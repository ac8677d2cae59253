"""`courses sync`: upsert by slug and hash, stable ids, retire instead of delete, all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.catalog.models import Course, Item, MediaFile, Module
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.enrollments.models import ItemCompletion
from tests.conftest import write_course


def _sync(db, app, folder, **kwargs):
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.errors]
    report = sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir, **kwargs)
    db.commit()
    return report


def _ids(db) -> dict[str, int]:
    return {f"{i.module_id}/{i.slug}": i.id for i in db.scalars(select(Item))}


def test_first_sync_creates_and_copies_media(db, app, courses_root):
    folder = write_course(courses_root, "c")
    [report] = _sync(db, app, folder)
    assert report.status == "created"
    assert db.scalar(select(Course).where(Course.slug == "c")).title == "C"
    assert len(db.scalars(select(Item)).all()) == 6
    media = db.scalars(select(MediaFile)).one()
    assert (app.config["LMS_SETTINGS"].media_dir / f"{media.sha256}.svg").is_file()


def test_resync_unchanged_keeps_everything(db, app, courses_root):
    folder = write_course(courses_root, "c")
    _sync(db, app, folder)
    before = _ids(db)
    [report] = _sync(db, app, folder)
    assert report.status == "unchanged" and _ids(db) == before


def test_changed_lesson_keeps_its_id_and_is_marked_updated(db, app, courses_root):
    folder = write_course(courses_root, "c")
    _sync(db, app, folder)
    item = db.scalar(select(Item).where(Item.slug == "lesson-2"))
    old_id, old_updated = item.id, item.updated_at
    (folder / "01-module-1" / "02-lesson-2.md").write_text("---\ntitle: Lesson 1.2 revised\n---\nNew text.\n")
    [report] = _sync(db, app, folder)
    assert report.status == "updated" and any("lesson-2" in c for c in report.changed)
    db.expire_all()
    item = db.get(Item, old_id)
    assert item.title == "Lesson 1.2 revised" and "New text." in item.html and item.updated_at > old_updated


def test_removed_lesson_and_module_are_retired_and_learner_data_kept(db, app, courses_root, make_user, enroll):
    folder = write_course(courses_root, "c")
    _sync(db, app, folder)
    course = db.scalar(select(Course))
    enrollment = enroll(make_user(), course)
    from lms.enrollments.services import complete_item

    doomed = db.scalar(select(Item).where(Item.slug == "lesson-3", Item.module_id == db.scalar(
        select(Module.id).where(Module.slug == "module-1"))))
    complete_item(db, enrollment.id, doomed.id)
    db.commit()
    (folder / "01-module-1" / "03-lesson-3.md").unlink()
    for path in (folder / "02-module-2").iterdir():
        path.unlink()
    (folder / "02-module-2").rmdir()
    [report] = _sync(db, app, folder)
    assert "module module-2 (retired; learner records kept)" in "\n".join(report.lines())
    db.expire_all()
    assert db.get(Item, doomed.id).retired_at is not None
    assert db.scalar(select(ItemCompletion).where(ItemCompletion.item_id == doomed.id)) is not None
    # put it back: the same row comes back to life
    write_course(courses_root, "c")
    _sync(db, app, folder)
    db.expire_all()
    assert db.get(Item, doomed.id).retired_at is None


def test_course_missing_from_the_catalog_folder_is_retired(db, app, courses_root):
    write_course(courses_root, "a")
    write_course(courses_root, "b")
    _sync(db, app, courses_root, retire_missing=True)
    import shutil

    shutil.rmtree(courses_root / "b")
    report = _sync(db, app, courses_root, retire_missing=True)
    assert [r.status for r in report] == ["unchanged", "retired"]


def test_failed_sync_changes_nothing(db, app, courses_root, monkeypatch):
    folder = write_course(courses_root, "c")
    _sync(db, app, folder)
    before = _ids(db)
    (folder / "01-module-1" / "01-lesson-1.md").write_text("---\ntitle: Changed\n---\nchanged\n")
    result = load_courses(folder)
    from lms.catalog import services

    original = services._upsert_item
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_upsert_item", failing)
    with pytest.raises(RuntimeError):
        sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.rollback()
    assert _ids(db) == before
    assert db.scalar(select(Item).where(Item.slug == "lesson-1", Item.title == "Changed")) is None
