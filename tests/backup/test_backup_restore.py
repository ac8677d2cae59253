"""`flask backup` and `flask restore`: a round trip to an equal state, refusals that change nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from sqlalchemy import create_engine, text

from lms.backup import services
from lms.db import get_engine
from tests.backup.conftest import all_rows, assert_clean_failure, run_cli, submission_files


def _instance_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _backed_up(app, db, tmp_path) -> Path:
    db.close()  # no open transaction of the test's own while the database is dumped or replaced
    target = tmp_path / "backup"
    result = run_cli(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    assert "backed up" in result.output and str(target) in result.output
    return target


def _change_everything(database_url: str, settings) -> None:
    """Change the live instance after the backup: rows, uploads and keys."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM submission_files"))
        conn.execute(text("UPDATE users SET name = 'Changed Later'"))
    engine.dispose()
    shutil.rmtree(settings.uploads_dir)
    shutil.rmtree(settings.media_dir)
    for key in (settings.instance_dir / "credential-keys").glob("*.pem"):
        key.write_text("not the key any more\n")


def test_backup_contents_and_manifest(app, db, populated, settings, tmp_path):
    target = _backed_up(app, db, tmp_path)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["format"] == "skillmark-backup" and manifest["format_version"] == 2
    assert manifest["alembic_revision"] == services.code_head(settings.database_url)[0]
    assert manifest["app_version"] == "0.1.0" and manifest["created_at"].endswith("Z")
    assert manifest["database"]["kind"] in ("sqlite", "postgresql")
    assert manifest["database"]["tables"]["submission_files"] == 1
    assert manifest["media"] == {"stored": 1, "referenced": 1} and manifest["missing"] == []  # the course's diagram
    paths = {entry["path"] for entry in manifest["files"]}
    (name, sha256, size), = submission_files(settings.database_url)
    assert f"uploads/{sha256[:2]}/{sha256[2:4]}/{sha256}" in paths
    assert any(p.startswith("keys/credential-keys/") and p.endswith(".pem") for p in paths)
    assert any(p.startswith("media/") and p.endswith(".svg") for p in paths)
    assert manifest["database"]["file"] in paths
    for entry in manifest["files"]:
        data = (target / entry["path"]).read_bytes()
        assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert oct(target.stat().st_mode & 0o777) == "0o700"  # private keys and personal data inside
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".backup.partial-")]
    assert "password" not in json.dumps(manifest).lower()
    assert "127.0.0.1" not in json.dumps(manifest)  # no connection details at all


def test_round_trip_restores_an_equal_state(app, db, populated, settings, tmp_path):
    db.close()
    before_rows = all_rows(settings.database_url)
    before_files = _instance_files(settings.uploads_dir), _instance_files(settings.media_dir)
    before_keys = _instance_files(settings.instance_dir / "credential-keys")
    target = _backed_up(app, db, tmp_path)

    _change_everything(settings.database_url, settings)
    refused = run_cli(app, "restore", str(target))
    assert_clean_failure(refused, "already holds data", "--force", "Nothing was changed")
    assert all_rows(settings.database_url)["submission_files"] == []  # untouched

    restored = run_cli(app, "restore", str(target), "--force")
    assert restored.exit_code == 0, restored.output
    assert "restored the" in restored.output and "2 file(s) added" in restored.output
    assert all_rows(settings.database_url) == before_rows  # every table, every row
    assert (_instance_files(settings.uploads_dir), _instance_files(settings.media_dir)) == before_files
    assert _instance_files(settings.instance_dir / "credential-keys") == before_keys
    aside = list(settings.instance_dir.glob("credential-keys.replaced-*"))
    assert len(aside) == 1 and "kept the instance's previous credential-keys" in restored.output
    assert {p.read_text() for p in aside[0].glob("*.pem")} == {"not the key any more\n"}  # never deleted

    # The restored instance works: the app reads the restored rows and signs with the restored key.
    keys = run_cli(app, "credentials", "keys")
    assert keys.exit_code == 0, keys.output
    assert run_cli(app, "users", "list").output.count("Changed Later") == 0


def test_restore_into_an_empty_database_needs_no_force(app, db, populated, settings, tmp_path):
    db.close()
    before_rows = all_rows(settings.database_url)
    target = _backed_up(app, db, tmp_path)
    from tests.conftest import _empty_all_tables  # the suite's own "empty every table"

    _empty_all_tables(create_engine(settings.database_url))
    fresh = settings.with_overrides(instance_dir=tmp_path / "new-instance")
    get_engine(app).dispose()  # as `flask restore` does: no pooled connection to the file being replaced
    result = services.restore(fresh, target)
    get_engine(app).dispose()
    assert all_rows(settings.database_url) == before_rows
    assert result.files_added == 2 and result.keys_restored == 1  # the signing key (no generated session key here)
    (name, sha256, size), = submission_files(settings.database_url)
    restored = fresh.uploads_dir / sha256[:2] / sha256[2:4] / sha256
    assert hashlib.sha256(restored.read_bytes()).hexdigest() == sha256 and restored.stat().st_size == size
    assert result.messages == []  # same migration as the code: nothing more to do


def test_a_tampered_file_is_refused_and_nothing_changes(app, db, populated, settings, tmp_path):
    target = _backed_up(app, db, tmp_path)
    _change_everything(settings.database_url, settings)
    rows = all_rows(settings.database_url)
    instance = _instance_files(settings.instance_dir)
    upload = next((target / "uploads").rglob("*/*/*"))
    upload.write_bytes(upload.read_bytes() + b"tampered")
    result = run_cli(app, "restore", str(target), "--force")
    relative = upload.relative_to(target).as_posix()
    assert_clean_failure(result, f"{relative} does not match the manifest", "nothing was changed")
    assert all_rows(settings.database_url) == rows
    assert _instance_files(settings.instance_dir) == instance

    upload.unlink()  # missing instead of changed
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), f"{relative} is listed in the manifest "
                         "but missing")
    dump = target / json.loads((target / "manifest.json").read_text())["database"]["file"]
    dump.write_bytes(dump.read_bytes()[:-1])
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), "does not match the manifest")
    assert all_rows(settings.database_url) == rows
    assert _instance_files(settings.instance_dir) == instance


def test_a_damaged_manifest_or_foreign_files_are_refused(app, db, populated, settings, tmp_path):
    target = _backed_up(app, db, tmp_path)
    rows = all_rows(settings.database_url)
    manifest_path = target / "manifest.json"
    original = manifest_path.read_text()

    (target / "uploads" / "extra.txt").write_text("x")
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), "uploads/extra.txt is in the backup folder "
                         "but not in its manifest")
    (target / "uploads" / "extra.txt").unlink()

    cases = {
        "{not json": "is not valid JSON",
        json.dumps({"format": "something-else"}): "is not a Skillmark backup manifest",
        original.replace('"format_version": 2', '"format_version": 99'): "format version 99",
    }
    manifest = json.loads(original)
    manifest["files"][0]["path"] = "../../etc/passwd"
    cases[json.dumps(manifest)] = "not a plain path inside the backup"
    for text_, message in cases.items():
        manifest_path.write_text(text_)
        assert_clean_failure(run_cli(app, "restore", str(target), "--force"), message)
    manifest_path.unlink()
    assert_clean_failure(run_cli(app, "restore", str(target)), "has no manifest.json")
    assert all_rows(settings.database_url) == rows


def test_migration_revisions_and_database_kind(app, db, populated, settings, tmp_path):
    target = _backed_up(app, db, tmp_path)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    rows = all_rows(settings.database_url)

    newer = {**manifest, "alembic_revision": "9999"}
    manifest_path.write_text(json.dumps(newer))
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), "migration '9999', newer than this code")

    other = "postgresql" if manifest["database"]["kind"] == "sqlite" else "sqlite"
    manifest_path.write_text(json.dumps({**manifest, "database": {**manifest["database"], "kind": other}}))
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), f"backup of a {other} database")
    assert all_rows(settings.database_url) == rows

    # A backup from before the last migration restores, and says to upgrade afterwards.
    head, _known = services.code_head(settings.database_url)
    manifest_path.write_text(json.dumps({**manifest, "alembic_revision": "0009"}))
    older = run_cli(app, "restore", str(target), "--force")
    assert older.exit_code == 0, older.output
    assert f"at migration 0009, older than this code's {head}: run `flask db upgrade`" in older.output


def test_wrong_directories_say_what_to_do(app, db, populated, tmp_path):
    db.close()
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    assert_clean_failure(run_cli(app, "backup", str(full)), "is not empty", "nothing was written")
    assert sorted(p.name for p in full.iterdir()) == ["something"]
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert_clean_failure(run_cli(app, "backup", str(a_file)), "is a file, not a folder")
    assert_clean_failure(run_cli(app, "backup", str(tmp_path / "no" / "such" / "dir")), "does not exist: create it")
    assert_clean_failure(run_cli(app, "restore", str(tmp_path / "nowhere")), "does not exist")
    assert_clean_failure(run_cli(app, "restore", str(a_file)), "is a file, not a backup folder")
    assert_clean_failure(run_cli(app, "restore", str(full)), "has no manifest.json")
    leftovers = [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    assert leftovers == []

    empty = tmp_path / "empty"
    empty.mkdir()  # an existing empty folder is fine (a mount point, a folder made by a script)
    assert run_cli(app, "backup", str(empty)).exit_code == 0
    assert (empty / "manifest.json").is_file()


def test_a_failed_backup_leaves_nothing(app, db, populated, settings, tmp_path, monkeypatch):
    db.close()

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(services, "_fsync_tree", broken)
    result = run_cli(app, "backup", str(tmp_path / "backup"))
    assert_clean_failure(result, "No space left on device", "nothing was written")
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == []


def test_a_failed_database_step_removes_the_files_it_stored(app, db, populated, settings, tmp_path, monkeypatch):
    from lms.backup import database

    target = _backed_up(app, db, tmp_path)
    _change_everything(settings.database_url, settings)
    rows = all_rows(settings.database_url)
    instance = _instance_files(settings.instance_dir)

    def broken(*args):
        raise OSError(5, "Input/output error", "skillmark.db")

    monkeypatch.setattr(database, "sqlite_restore", broken)
    monkeypatch.setattr(database, "postgresql_restore", broken)
    result = run_cli(app, "restore", str(target), "--force")
    assert_clean_failure(result, "Input/output error", "while replacing the database", "files this restore had "
                         "stored were removed")
    assert all_rows(settings.database_url) == rows
    assert _instance_files(settings.instance_dir) == instance  # the uploads and media it stored are gone again
