"""pg_dump and pg_restore: found on PATH or a clear message, and the password never on a command line."""

from __future__ import annotations

import json

import pytest

from lms.backup import database
from tests.backup.conftest import ON_POSTGRES, all_rows, assert_clean_failure, run_cli

needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (LMS_TEST_DATABASE_URL)")


def test_the_password_travels_in_the_environment_only():
    conninfo, env = database.libpq_connection(
        "postgresql+psycopg://skill:s3cr%40t'pw@db.example.org:6432/skillmark?sslmode=require")
    assert "s3cr" not in conninfo and "password" not in conninfo
    assert conninfo == "host='db.example.org' port='6432' user='skill' dbname='skillmark' sslmode='require'"
    assert env["PGPASSWORD"] == "s3cr@t'pw"
    conninfo, env = database.libpq_connection("postgresql+psycopg:///skillmark?host=/run/postgresql")
    assert conninfo == "host='/run/postgresql' dbname='skillmark'"


@pytest.mark.postgres_only
@needs_postgres
def test_missing_pg_dump(app, db, settings, tmp_path, monkeypatch):
    db.close()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    result = run_cli(app, "backup", str(tmp_path / "backup"))
    assert_clean_failure(result, "pg_dump was not found on PATH", "postgresql-client-")
    assert not (tmp_path / "backup").exists()
    assert [p for p in tmp_path.iterdir() if ".partial-" in p.name] == []


@pytest.mark.postgres_only
@needs_postgres
def test_missing_pg_restore_changes_nothing(app, db, make_user, settings, tmp_path, monkeypatch):
    make_user()
    db.close()
    assert run_cli(app, "backup", str(tmp_path / "backup")).exit_code == 0
    rows = all_rows(settings.database_url)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert_clean_failure(run_cli(app, "restore", str(tmp_path / "backup"), "--force"),
                         "pg_restore was not found on PATH", "Nothing was changed")
    assert all_rows(settings.database_url) == rows


@pytest.mark.postgres_only
@needs_postgres
def test_pg_dump_arguments_hold_no_password(app, db, settings, tmp_path, monkeypatch):
    db.close()
    calls = []
    real_run = database.subprocess.run

    def spy(argv, **kwargs):
        calls.append((argv, kwargs["env"]))
        return real_run(argv, **kwargs)

    fake_password_url = settings.database_url.replace("postgresql+psycopg://postgres@",
                                                      "postgresql+psycopg://postgres:hunter2@")
    (tmp_path / "dump").mkdir()
    if fake_password_url != settings.database_url:  # (the test server trusts local connections)
        database.postgresql_snapshot(fake_password_url, tmp_path / "dump" / "x.pgdump", run=spy)
        argv, env = calls[-1]
        assert "hunter2" not in " ".join(argv) and env["PGPASSWORD"] == "hunter2"
        assert any(a.startswith("--snapshot=") for a in argv) and "--format=custom" in argv
    result = run_cli(app, "backup", str(tmp_path / "backup"))
    assert result.exit_code == 0, result.output
    assert "hunter2" not in (tmp_path / "backup" / "manifest.json").read_text()
    assert json.loads((tmp_path / "backup" / "manifest.json").read_text())["database"]["kind"] == "postgresql"

