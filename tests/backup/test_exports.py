"""Course exports in a backup: the ready exports' files are copied with their checksums, restored (checked
first), put back as they were when the database step fails; a ready export whose file is gone is listed,
not fatal; the files of exports that are not ready are left out."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import create_engine, select, text

from lms.backup import database, services
from lms.db import get_engine, utcnow
from lms.instructor import exports
from lms.instructor.models import CourseExport
from tests.backup.conftest import all_rows, assert_clean_failure, run_cli


def _ready_export(db, settings, setup) -> CourseExport:
    """An export of the populated course, built by the export job's own code and committed."""
    requested = exports.request_export(db, setup.course.id, setup.instructor.id)
    assert exports.run_export(db, settings.exports_dir, requested.export_id, utcnow(), last_attempt=True) == "ready"
    db.commit()
    return db.scalar(select(CourseExport).where(CourseExport.id == requested.export_id))


def _exports(settings) -> dict[str, bytes]:
    folder = settings.exports_dir
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _backup(app, db, tmp_path):
    db.close()
    target = tmp_path / "backup"
    result = run_cli(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    return target, json.loads((target / "manifest.json").read_text()), result.output


def test_ready_exports_are_backed_up_with_their_checksums(app, db, populated, settings, tmp_path):
    export = _ready_export(db, settings, populated)
    queued = exports.request_export(db, populated.course.id, populated.instructor.id)  # its file: not ready
    db.commit()
    (settings.exports_dir / exports.export_path(populated.course.id, queued.export_id)).write_text("half a file")

    target, manifest, output = _backup(app, db, tmp_path)
    path = f"exports/{export.file_name}"
    entry = next(e for e in manifest["files"] if e["path"] == path)
    data = (settings.exports_dir / export.file_name).read_bytes()
    assert entry == {"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert (target / path).read_bytes() == data and data.startswith(b"name,email,")
    assert oct((target / path).stat().st_mode & 0o777) == "0o600"
    assert [e["path"] for e in manifest["files"] if e["path"].startswith("exports/")] == [path]
    assert manifest["exports"] == {"stored": 1, "ready": 1, "missing": []}
    assert manifest["format_version"] == 2
    assert "1 course export(s)" in output


def test_a_ready_export_without_its_file_is_listed_not_fatal(app, db, populated, settings, tmp_path):
    export = _ready_export(db, settings, populated)
    (settings.exports_dir / export.file_name).unlink()  # (pruned, or a node-local folder)
    target, manifest, output = _backup(app, db, tmp_path)
    assert manifest["exports"] == {"stored": 0, "ready": 1, "missing": [f"exports/{export.file_name}"]}
    assert f"missing exports/{export.file_name}" in output and manifest["missing"] == []
    restored = services.restore(settings, target, force=True)
    get_engine(app).dispose()
    assert any("course export file(s) were already gone" in m for m in restored.messages)


def test_restore_puts_the_exports_back_and_checks_them_first(app, db, client, auth, populated, settings, tmp_path):
    export = _ready_export(db, settings, populated)
    before = _exports(settings)
    rows = all_rows(settings.database_url)
    target, _manifest, _output = _backup(app, db, tmp_path)

    # Damaged in the backup: refused before anything changes.
    copy = target / f"exports/{export.file_name}"
    original = copy.read_bytes()
    copy.write_bytes(original.replace(b"name", b"NAME", 1))
    fresh = settings.with_overrides(instance_dir=tmp_path / "new-instance")
    get_engine(app).dispose()
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"),
                         f"exports/{export.file_name} does not match the manifest", "nothing was changed")
    copy.write_bytes(original)

    # Into a new instance folder (its exports folder empty), over the database.
    result = services.restore(fresh, target, force=True)
    get_engine(app).dispose()
    assert _exports(fresh) == before and result.files_added == 3  # the upload, the course's diagram, the export
    assert all_rows(settings.database_url) == rows

    # And over this instance, whose export file was lost: the download works again.
    (settings.exports_dir / export.file_name).unlink()
    restored = run_cli(app, "restore", str(target), "--force")
    assert restored.exit_code == 0, restored.output
    assert _exports(settings) == before
    auth.login(populated.instructor.email)
    download = client.get(exports.download_link(populated.course.slug, export.id))
    assert download.status_code == 200 and download.get_data() == before[export.file_name]


def test_a_failed_database_step_puts_replaced_exports_back(app, db, populated, settings, tmp_path, monkeypatch):
    export = _ready_export(db, settings, populated)
    target, _manifest, _output = _backup(app, db, tmp_path)
    (settings.exports_dir / export.file_name).write_text("another instance's export of the same name\n")
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET name = 'Changed Later'"))
    engine.dispose()
    before = _exports(settings)
    rows = all_rows(settings.database_url)

    def broken(*args):
        raise OSError(5, "Input/output error", "skillmark.db")

    monkeypatch.setattr(database, "sqlite_restore", broken)
    monkeypatch.setattr(database, "postgresql_restore", broken)
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), "while replacing the database")
    assert _exports(settings) == before  # the instance's own file is back, nothing left beside it
    assert all_rows(settings.database_url) == rows


def test_a_backup_from_before_exports_were_backed_up_restores_and_says_so(app, db, populated, settings, tmp_path):
    _ready_export(db, settings, populated)
    target, manifest, _output = _backup(app, db, tmp_path)
    for entry in [e for e in manifest["files"] if e["path"].startswith("exports/")]:
        (target / entry["path"]).unlink()
        manifest["files"].remove(entry)
    del manifest["exports"]
    (target / "manifest.json").write_text(json.dumps({**manifest, "format_version": 1}))
    result = run_cli(app, "restore", str(target), "--force")
    assert result.exit_code == 0, result.output
    assert "made before backups held course exports" in result.output
