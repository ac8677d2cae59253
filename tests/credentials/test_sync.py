"""`flask courses sync` keeps each course's achievement and its versions in step with course.yml."""

from __future__ import annotations

from sqlalchemy import select

from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.credentials.models import Achievement, AchievementVersion
from tests.content.test_credential import _course


def _sync(app, db, folder):
    result = load_courses(folder)
    assert result.ok, [str(p) for p in result.problems]
    report = sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    return report


def _versions(db):
    return db.execute(select(AchievementVersion.version, AchievementVersion.retired_at.is_(None),
                             AchievementVersion.spec).order_by(AchievementVersion.version)).all()


def test_a_sync_stores_the_achievement_and_versions_a_changed_definition(app, db, tmp_path):
    folder = _course(tmp_path)
    report = _sync(app, db, folder)
    assert "  + credential (version 1)" in report[0].lines()
    achievement = db.scalar(select(Achievement))
    assert achievement.slug == "cred-course" and achievement.kind == "course" and achievement.retired_at is None
    [(version, live, spec)] = _versions(db)
    assert version == 1 and live and spec["requires"]["capstone"] is True
    assert spec["course"] == {"slug": "cred-course", "title": "Cred Course", "language": "en"}
    # The same definition again: nothing new. A changed one: version 2, and version 1 retires.
    assert _sync(app, db, folder)[0].status == "unchanged"
    (folder / "course.yml").write_text((folder / "course.yml").read_text()
                                       + "credential:\n  name: Cred Pro\n  image: assets/diagram.svg\n")
    report = _sync(app, db, folder)
    assert "  ~ credential (version 2)" in report[0].lines()
    versions = _versions(db)
    assert [(v, live) for v, live, _ in versions] == [(1, False), (2, True)]
    assert versions[1][2]["name"] == "Cred Pro" and versions[1][2]["image_url"].startswith("/media/")


def test_turning_the_credential_off_retires_the_achievement_and_keeps_its_versions(app, db, tmp_path):
    folder = _course(tmp_path)
    _sync(app, db, folder)
    (folder / "course.yml").write_text((folder / "course.yml").read_text() + "credential: false\n")
    report = _sync(app, db, folder)
    assert "  - credential (retired; learner records kept)" in report[0].lines()
    assert db.scalar(select(Achievement)).retired_at is not None
    assert len(_versions(db)) == 1
