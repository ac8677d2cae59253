"""`flask restore --force` leaves exactly the backup's schema: tables, sequences, functions, types and
triggers added after the backup (a later migration) are gone, the backup's own triggers and functions
are back; on PostgreSQL all in one transaction that a failure mid-way, or a table in use, leaves untouched."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import threading

import pytest
from sqlalchemy import create_engine, text

from lms.backup import database
from lms.db import get_engine
from tests.backup.conftest import ON_POSTGRES, all_rows, assert_clean_failure, run_cli

needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (LMS_TEST_DATABASE_URL)")

# A trigger and its function made before the backup (so they are in it), on a table of the app.
PG_BEFORE = [
    "CREATE FUNCTION backup_probe() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "CREATE TRIGGER backup_probe BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION backup_probe()",
]
SQLITE_BEFORE = ["CREATE TRIGGER backup_probe AFTER UPDATE ON users BEGIN SELECT 1; END"]
# What a later migration could add after the backup: all of it must be gone after the restore.
PG_LATER = [
    "CREATE TABLE later_table (id serial PRIMARY KEY, user_id integer REFERENCES users (id))",
    "CREATE INDEX ix_later_table_user ON later_table (user_id)",
    "CREATE FUNCTION later_function() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "CREATE TRIGGER later_trigger AFTER INSERT ON later_table FOR EACH ROW EXECUTE FUNCTION later_function()",
    "CREATE TRIGGER later_users_trigger AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION later_function()",
    "CREATE SEQUENCE later_sequence",
    "CREATE TYPE later_state AS ENUM ('on', 'off')",
    "CREATE DOMAIN later_positive AS integer CHECK (VALUE > 0)",
    "CREATE VIEW later_view AS SELECT id FROM later_table",
    "CREATE FUNCTION later_plain(a integer, b text) RETURNS integer LANGUAGE sql AS 'SELECT a'",
    "DROP TRIGGER backup_probe ON users",  # (and one of the backup's triggers removed: it comes back)
]
SQLITE_LATER = [
    "CREATE TABLE later_table (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users (id))",
    "CREATE INDEX ix_later_table_user ON later_table (user_id)",
    "CREATE TRIGGER later_trigger AFTER INSERT ON later_table BEGIN SELECT 1; END",
    "CREATE TRIGGER later_users_trigger AFTER INSERT ON users BEGIN SELECT 1; END",
    "CREATE VIEW later_view AS SELECT id FROM later_table",
    "DROP TRIGGER backup_probe",
]
PG_CLEANUP = ["DROP VIEW IF EXISTS later_view", "DROP TABLE IF EXISTS later_table CASCADE",
              "DROP TRIGGER IF EXISTS later_users_trigger ON users", "DROP FUNCTION IF EXISTS later_function()",
              "DROP FUNCTION IF EXISTS later_plain(integer, text)", "DROP SEQUENCE IF EXISTS later_sequence",
              "DROP TYPE IF EXISTS later_state", "DROP DOMAIN IF EXISTS later_positive",
              "DROP TRIGGER IF EXISTS backup_probe ON users", "DROP FUNCTION IF EXISTS backup_probe()"]
SQLITE_CLEANUP = ["DROP VIEW IF EXISTS later_view", "DROP TABLE IF EXISTS later_table",
                  "DROP TRIGGER IF EXISTS later_users_trigger", "DROP TRIGGER IF EXISTS backup_probe"]

PG_SCHEMA = {
    "relation": "SELECT c.relkind::text, c.relname::text FROM pg_class c WHERE c.relnamespace = current_schema()"
                "::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i')",
    "column": "SELECT table_name::text, column_name::text || ' ' || data_type || ' ' || coalesce(column_default, '') "
              "FROM information_schema.columns WHERE table_schema = current_schema()",
    "constraint": "SELECT conrelid::regclass::text, conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
                  "WHERE connamespace = current_schema()::regnamespace",
    "index": "SELECT tablename::text, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
    "trigger": "SELECT tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
    "function": "SELECT proname::text, pg_get_functiondef(oid) FROM pg_proc "
                "WHERE pronamespace = current_schema()::regnamespace AND prokind IN ('f', 'p')",
    "type": "SELECT typtype::text, typname::text FROM pg_type t WHERE typnamespace = current_schema()::regnamespace "
            "AND typtype IN ('e', 'd', 'r')",
}


def _statements(database_url: str, statements: list[str]) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def schema_of(database_url: str) -> set[tuple]:
    """Every object of the database's schema, with its definition (SQLite: sqlite_master)."""
    if database.kind_of(database_url) == "sqlite":
        conn = sqlite3.connect(database.sqlite_path(database_url))
        try:
            return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        finally:
            conn.close()
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {(kind, name, _deparsed(definition)) for kind, query in PG_SCHEMA.items()
                    for name, definition in conn.execute(text(query))}
    finally:
        engine.dispose()


def _deparsed(definition: str) -> str:
    """A definition as PostgreSQL prints it, without the casts and parentheses its printer adds when it
    prints a definition it parsed from its own output (``CHECK (level IN (...))`` comes back from a dump
    as ``((level)::text = ANY (ARRAY[('a'::character varying)::text, ...]))``)."""
    return re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", definition)


def triggers_of(schema: set[tuple]) -> set[tuple]:
    return {row for row in schema if row[0] == "trigger"}


@pytest.fixture
def probes(app, settings):
    """The before/after statements for this database, and everything they made dropped afterwards (the
    worker's database is shared by the tests that follow)."""
    postgres = database.kind_of(settings.database_url) == "postgresql"
    yield (PG_BEFORE, PG_LATER) if postgres else (SQLITE_BEFORE, SQLITE_LATER)
    get_engine(app).dispose()
    _statements(settings.database_url, PG_CLEANUP if postgres else SQLITE_CLEANUP)


def _backed_up(app, db, settings, tmp_path, before: list[str]):
    db.close()
    _statements(settings.database_url, before)
    schema, rows = schema_of(settings.database_url), all_rows(settings.database_url)
    result = run_cli(app, "backup", str(tmp_path / "backup"))
    assert result.exit_code == 0, result.output
    return tmp_path / "backup", schema, rows


def test_restore_leaves_exactly_the_backups_schema_with_its_triggers(app, db, populated, settings, tmp_path,
                                                                     probes):
    before, later = probes
    target, schema, rows = _backed_up(app, db, settings, tmp_path, before)
    assert any("backup_probe" in str(row) for row in triggers_of(schema))
    get_engine(app).dispose()
    _statements(settings.database_url, later)
    changed = schema_of(settings.database_url)
    assert any("later_table" in str(row) for row in changed) and not any("backup_probe" in str(row)
                                                                         for row in triggers_of(changed))

    restored = run_cli(app, "restore", str(target), "--force")
    assert restored.exit_code == 0, restored.output
    after = schema_of(settings.database_url)
    assert not any("later" in str(row) for row in after), sorted(r for r in after if "later" in str(r))
    assert triggers_of(after) == triggers_of(schema)  # the backup's triggers, the probe and the migrations'
    assert after == schema
    assert all_rows(settings.database_url) == rows
    # The restored trigger runs (SQLite's sqlite_master and PostgreSQL's catalog are not the only witnesses).
    _statements(settings.database_url, ["UPDATE users SET name = name"])


@pytest.mark.postgres_only
@needs_postgres
def test_a_restore_that_fails_mid_way_changes_nothing(app, db, populated, settings, tmp_path, probes, monkeypatch):
    """pg_restore dies after writing part of the script (drops and creates already sent to psql): the
    transaction is rolled back, never committed half done."""
    before, later = probes
    target, _schema, _rows = _backed_up(app, db, settings, tmp_path, before)
    get_engine(app).dispose()
    _statements(settings.database_url, later)
    schema, rows = schema_of(settings.database_url), all_rows(settings.database_url)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pg_restore"
    fake.write_text(f'#!/bin/sh\n"{shutil.which("pg_restore")}" "$@" | head -c 60000\nexit 1\n')
    fake.chmod(0o755)
    (bin_dir / "psql").symlink_to(shutil.which("psql"))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = run_cli(app, "restore", str(target), "--force")
    assert_clean_failure(result, "pg_restore failed (exit 1)", "the database was not changed")
    assert schema_of(settings.database_url) == schema
    assert all_rows(settings.database_url) == rows


@pytest.mark.postgres_only
@needs_postgres
def test_a_table_in_use_makes_the_restore_fail_not_wait(app, db, populated, settings, tmp_path, monkeypatch):
    """A running app holding a table: the drops ask for its lock first, under the lock timeout (the
    dump's script sets lock_timeout = 0 for itself, so pg_restore alone waited for as long as it took)."""
    target, _schema, rows = _backed_up(app, db, settings, tmp_path, [])
    monkeypatch.setattr(database, "LOCK_TIMEOUT", "1s")
    engine = create_engine(settings.database_url)
    holder = engine.connect()
    holder.execute(text("SELECT count(*) FROM users"))  # an open transaction holding users' ACCESS SHARE lock
    release = threading.Timer(20, holder.rollback)  # (without the timeout, the restore would wait for this)
    release.start()
    try:
        result = run_cli(app, "restore", str(target), "--force")
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
        engine.dispose()
    assert_clean_failure(result, "lock timeout", "A table is in use: stop the app", "was not changed")
    assert all_rows(settings.database_url) == rows


@pytest.mark.postgres_only
@needs_postgres
def test_missing_psql_changes_nothing(app, db, populated, settings, tmp_path, monkeypatch):
    target, _schema, rows = _backed_up(app, db, settings, tmp_path, [])
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pg_restore").symlink_to(shutil.which("pg_restore"))
    monkeypatch.setenv("PATH", str(bin_dir))
    assert_clean_failure(run_cli(app, "restore", str(target), "--force"), "psql was not found on PATH",
                         "Nothing was changed")
    assert all_rows(settings.database_url) == rows
