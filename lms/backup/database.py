"""The database half of a backup: a consistent snapshot out, and back in.

SQLite: the sqlite3 online backup API, on a connection of its own, copies every page in one step
inside one read transaction, so the copy is the database as of one instant while the app keeps
writing (WAL mode: readers never block writers). What the backup needs to know about that instant
(the Alembic revision, the row counts, the upload hashes the rows reference) is read from the copy.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot (``pg_export_snapshot()``) and reads
those facts; ``pg_dump --format=custom --snapshot=...`` dumps exactly that snapshot while the
transaction stays open. A restore is one psql transaction that empties the app's schema and then
runs the script pg_restore makes of the dump (``postgresql_restore``). The connection goes to pg_dump
and psql as a libpq conninfo string without the password, which travels in ``PGPASSWORD``: it appears
in no argument list, manifest or log.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from lms.account_data import files as upload_files
from lms.errors import DomainError
from lms.uploads.storage import fsync_dir

# Every column that names an upload by its SHA-256: the one list lms.account_data.files keeps (its
# reference counting and the backup's "every referenced file is copied" must never disagree).
UPLOAD_REFERENCES = tuple((column.table.name, column.name) for column in upload_files.REFERENCES)
# The files a snapshot references, as paths inside a backup: uploads/ab/cd/<sha256>, media/<sha256><ext>.
REFERENCED_FILES = tuple(
    (table, f'SELECT DISTINCT \'uploads/\' || substr("{column}", 1, 2) || \'/\' || substr("{column}", 3, 2) '
            f'|| \'/\' || "{column}" FROM "{table}"') for table, column in UPLOAD_REFERENCES
) + (("media_files", "SELECT 'media/' || sha256 || extension FROM media_files"),)
# The course exports the snapshot lists as ready, as paths inside a backup: exports/course-<id>/export-<id>.csv.
# Not referenced files in the sense above: a ready export's file may be deleted (7 days old) before its
# row's deletion commits, so one missing at copy time is left out, never a reason to take a new snapshot.
EXPORT_FILES = ("course_exports",
                "SELECT 'exports/' || file_name FROM course_exports WHERE state = 'ready' AND file_name IS NOT NULL")
CHUNK = 1024 * 1024
LOCK_TIMEOUT = "60s"  # how long pg_dump / the restore wait for a table lock before failing with the reason


class BackupError(DomainError):
    """The backup or restore cannot be done; the message says what to do. Nothing was changed."""


@dataclass
class Snapshot:
    """What the backup knows about the database instant it captured."""

    kind: str
    revision: str | None
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    referenced: set[str] = field(default_factory=set)  # backup paths of the files the rows reference
    exports: set[str] = field(default_factory=set)  # backup paths of the ready course exports' files
    details: dict = field(default_factory=dict)  # for the manifest: never a host, user or password


def kind_of(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL databases, not {backend!r}")
    return backend


def dump_file_name(kind: str) -> str:
    return "database/skillmark.sqlite3" if kind == "sqlite" else "database/skillmark.pgdump"


# -- SQLite ---------------------------------------------------------------------------------------

def sqlite_path(database_url: str) -> Path:
    path = make_url(database_url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise BackupError("LMS_DATABASE_URL names an in-memory SQLite database: there is nothing on disk to "
                          "back up or restore into; use sqlite:////path/to/skillmark.db")
    return Path(path)


def _file_facts(counts: dict[str, int], column: Callable[[str], object]) -> tuple[set[str], set[str]]:
    """The backup paths of the files the rows reference, and of the ready exports' files (``column``
    runs a query and returns its first column)."""
    referenced: set[str] = set()
    for table, query in REFERENCED_FILES:
        if table in counts:
            referenced.update(column(query))
    table, query = EXPORT_FILES
    return referenced, set(column(query)) if table in counts else set()


def _sqlite_facts(conn: sqlite3.Connection) -> tuple[str | None, dict[str, int], set[str], set[str]]:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    counts = {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    revision = None
    if "alembic_version" in counts:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    return revision, counts, *_file_facts(counts, lambda query: [row[0] for row in conn.execute(query)])


def sqlite_snapshot(database_url: str, target: Path) -> Snapshot:
    """Copy the live SQLite database into ``target`` (a standalone file) as of one instant."""
    source_path = sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupError(f"there is no SQLite database at {source_path}: nothing to back up (check "
                          "LMS_DATABASE_URL / LMS_INSTANCE_DIR, or run `flask db upgrade` first)")
    source = sqlite3.connect(source_path, timeout=15)  # (never written: the copy is the only target)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)  # pages=-1: every page in one step, under one read transaction
            copy.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
            revision, counts, referenced, exports = _sqlite_facts(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"could not read the SQLite database {source_path}: {exc}") from None
    finally:
        source.close()
    return Snapshot("sqlite", revision, counts, referenced, exports, {"sqlite_version": sqlite3.sqlite_version})


def sqlite_has_rows(database_url: str) -> list[str]:
    """The tables of the configured SQLite database that hold rows (none when there is no file)."""
    path = sqlite_path(database_url)
    if not path.is_file():
        return []
    conn = sqlite3.connect(path, timeout=15)
    try:
        counts = _sqlite_facts(conn)[1]
    except sqlite3.Error as exc:
        raise BackupError(f"could not read the SQLite database {path}: {exc}") from None
    finally:
        conn.close()
    return sorted(table for table, rows in counts.items() if rows and table != "alembic_version")


def sqlite_restore(database_url: str, dump: Path) -> None:
    """Put the backup's database file in place of the configured one: written beside it, checked,
    synced, then renamed over it (atomic: the old database or the new one, never a mixture)."""
    target = sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restore-{os.getpid()}")
    try:
        shutil.copyfile(dump, temporary)
        conn = sqlite3.connect(temporary)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            conn.close()
        if result != "ok":
            raise BackupError(f"the backup's database file fails SQLite's integrity check ({result}); nothing "
                              "was changed")
        with temporary.open("rb+") as handle:
            os.fsync(handle.fileno())
        _checkpoint_live_wal(target)
        os.replace(temporary, target)
        for suffix in ("-wal", "-shm"):  # the old file's (empty) log; it must not be applied to the new one
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        fsync_dir(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _checkpoint_live_wal(target: Path) -> None:
    """Fold the live database's write-ahead log into it and make sure nobody else has it open: a WAL
    left beside the new file would be replayed into it."""
    if not target.exists():
        return
    conn = sqlite3.connect(target, timeout=15)
    try:
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"could not open the current database {target}: {exc}") from None
    finally:
        conn.close()
    wal = Path(f"{target}-wal")
    if busy or (wal.exists() and wal.stat().st_size):
        raise BackupError(f"the database {target} is in use: stop the app, the job runners and any "
                          "`flask` command using it, then restore again. Nothing was changed.")


# -- PostgreSQL -----------------------------------------------------------------------------------

def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def libpq_connection(database_url: str) -> tuple[str, dict[str, str]]:
    """A conninfo string without the password, and the environment that carries the password."""
    url: URL = make_url(database_url)
    parts = {"host": url.host, "port": str(url.port) if url.port else None, "user": url.username,
             "dbname": url.database}
    for key, value in url.query.items():  # sslmode, host=/run/postgresql, ...: libpq parameters
        parts[key] = value[-1] if isinstance(value, tuple) else value
    parts.pop("password", None)
    conninfo = " ".join(f"{key}={_quote(str(value))}" for key, value in parts.items() if value)
    env = dict(os.environ)  # PGSSLROOTCERT, PGPASSFILE...: as for the app's own connections
    env.update({"PGCONNECT_TIMEOUT": "10", "PGAPPNAME": "skillmark-backup"})
    if url.password:
        env["PGPASSWORD"] = url.password
    return conninfo, env


def find_tool(name: str, server_major: int | None = None) -> str:
    path = shutil.which(name)
    if path is None:
        version = f"-{server_major}" if server_major else ""
        raise BackupError(f"{name} was not found on PATH: install the PostgreSQL client tools of the server's "
                          f"major version (Debian/Ubuntu: apt-get install postgresql-client{version}) or add "
                          "their bin folder to PATH. Nothing was changed.")
    return path


def _pg_engine(database_url: str):
    return create_engine(database_url, isolation_level="REPEATABLE READ", pool_size=1, max_overflow=0,
                         connect_args={"connect_timeout": 10})


def _pg_facts(conn) -> tuple[str | None, dict[str, int], set[str], set[str]]:
    tables = list(conn.execute(text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")).scalars())
    counts = {table: conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one() for table in tables}
    revision = None
    if "alembic_version" in counts:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision, counts, *_file_facts(counts, lambda query: conn.execute(text(query)).scalars().all())


def _connect_error(exc: Exception) -> BackupError:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return BackupError(f"could not connect to PostgreSQL: {first_line}")


def postgresql_snapshot(database_url: str, target: Path, run: Callable = subprocess.run) -> Snapshot:
    """Dump the configured PostgreSQL database into ``target`` (custom format) as of one snapshot."""
    engine = _pg_engine(database_url)
    try:
        try:
            conn = engine.connect()
        except Exception as exc:  # noqa: BLE001 - the reason, without a traceback
            raise _connect_error(exc) from None
        with conn:
            server_major = conn.connection.dbapi_connection.info.server_version // 10000
            pg_dump = find_tool("pg_dump", server_major)
            conn.execute(text("SET TRANSACTION READ ONLY"))
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            revision, counts, referenced, exports = _pg_facts(conn)
            conninfo, env = libpq_connection(database_url)
            completed = run([pg_dump, "--format=custom", f"--snapshot={snapshot_id}", "--no-password",
                             f"--lock-wait-timeout={LOCK_TIMEOUT}", f"--file={target}", f"--dbname={conninfo}"],
                            env=env, capture_output=True, text=True, check=False)
            conn.rollback()
        if completed.returncode != 0:
            raise BackupError(f"pg_dump failed (exit {completed.returncode}): {completed.stderr.strip()}")
    finally:
        engine.dispose()
    return Snapshot("postgresql", revision, counts, referenced, exports,
                    {"server_version": server_major, "database": make_url(database_url).database})


def postgresql_has_rows(database_url: str) -> list[str]:
    engine = _pg_engine(database_url)
    try:
        try:
            with engine.connect() as conn:
                counts = _pg_facts(conn)[1]
        except Exception as exc:  # noqa: BLE001
            raise _connect_error(exc) from None
    finally:
        engine.dispose()
    return sorted(table for table, rows in counts.items() if rows and table != "alembic_version")


# The first statement of a restore, in its transaction: drop every object of the schema the app's tables
# live in (``current_schema()``, normally ``public``), so that what the dump then creates is all there
# is: tables, views, sequences, functions and procedures (and the triggers, indexes and constraints that
# go with their tables), enum, range and composite types, domains, and extensions installed there.
# ``pg_restore --clean`` alone drops only what the dump holds, so tables, functions and triggers added
# by a later migration survived. The schema itself stays, with its owner and grants (DROP SCHEMA would
# lose them: the dump does not hold the public schema). Objects that belong to an extension go with
# it. The statements are listed before the first runs (a drop cascades to other objects of the list).
CLEAR_SCHEMA = """
SET client_min_messages = warning;
DO $clear$
DECLARE
    target oid := (SELECT oid FROM pg_namespace WHERE nspname = current_schema());
    statement text;
BEGIN
    FOREACH statement IN ARRAY ARRAY(
        SELECT drop_statement FROM (
            SELECT 1 AS step, format('DROP EXTENSION IF EXISTS %I CASCADE', extname) AS drop_statement
            FROM pg_extension WHERE extnamespace = target
            UNION ALL
            SELECT 2, format('DROP %s IF EXISTS %I.%I CASCADE',
                             CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                            WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                             current_schema(), c.relname)
            FROM pg_class c
            WHERE c.relnamespace = target AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                                        AND d.deptype = 'e')
            UNION ALL
            SELECT 3, format('DROP ROUTINE IF EXISTS %I.%I(%s) CASCADE', current_schema(), p.proname,
                             pg_get_function_identity_arguments(p.oid))
            FROM pg_proc p
            WHERE p.pronamespace = target
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                                        AND d.deptype = 'e')
            UNION ALL
            SELECT 4, format('DROP %s IF EXISTS %I.%I CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                             current_schema(), t.typname)
            FROM pg_type t LEFT JOIN pg_class r ON r.oid = t.typrelid
            WHERE t.typnamespace = target AND (t.typtype IN ('e', 'r', 'd') OR (t.typtype = 'c' AND r.relkind = 'c'))
              AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                                                        AND d.deptype = 'e')
        ) AS drops ORDER BY step, drop_statement)
    LOOP
        EXECUTE statement;
    END LOOP;
END
$clear$;
"""


def postgresql_restore(database_url: str, dump: Path) -> None:
    """Replace the database with the dump, all of it or none of it: one transaction (``psql
    --single-transaction``) that first drops everything in the app's schema (``CLEAR_SCHEMA``), then
    runs the script ``pg_restore --clean --if-exists --no-owner`` makes of the dump (tables, data,
    sequences' positions, functions, triggers, in pg_dump's order: triggers after the data).

    The script is streamed from pg_restore into psql; psql commits only at the end of its input, which
    it is given only once pg_restore has exited 0 (otherwise psql is killed and the server rolls the
    transaction back). The drops take every existing table's lock first, under ``LOCK_TIMEOUT`` (the
    script's own ``SET lock_timeout = 0`` comes after them), so a running app makes it fail, not hang."""
    pg_restore, psql = find_tool("pg_restore"), find_tool("psql")
    conninfo, env = libpq_connection(database_url)
    env["PGOPTIONS"] = f"-c lock_timeout={LOCK_TIMEOUT}"  # a running app holding a table: fail, do not hang
    with tempfile.TemporaryFile() as script_errors, tempfile.TemporaryFile() as load_errors:
        script = subprocess.Popen([pg_restore, "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--file=-",
                                   str(dump)], stdout=subprocess.PIPE, stderr=script_errors, env=env)
        load = subprocess.Popen([psql, "--no-psqlrc", "--quiet", "--no-password", "--single-transaction",
                                 "--set=ON_ERROR_STOP=1", f"--dbname={conninfo}", f"--command={CLEAR_SCHEMA}",
                                 "--file=-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=load_errors,
                                env=env)
        try:
            load_stopped = not _forward(script.stdout, load.stdin)
            script_exit = script.wait()
            if script_exit != 0 and not load_stopped:
                load.kill()  # before its input ends: it has not committed, and the server rolls back
                load.wait()
                raise BackupError(f"pg_restore failed (exit {script_exit}), the database was not changed: "
                                  f"{_text(script_errors)}")
            try:
                load.stdin.close()  # the end of the script: psql commits, or rolls back after an error
            except BrokenPipeError:
                pass
            load_exit = load.wait()
        finally:
            for process in (script, load):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if load_exit != 0:
            reason = _text(load_errors)
            hint = (" A table is in use: stop the app and the job runners, then restore again."
                    if "lock timeout" in reason else "")
            raise BackupError(f"restoring the dump failed (psql exit {load_exit}), the database was not changed "
                              f"(one transaction): {reason}{hint}")


def _forward(source, target) -> bool:
    """Copy the script from pg_restore's output to psql's input. False when psql stopped reading (it
    failed: its exit status and messages say why)."""
    try:
        while chunk := source.read(CHUNK):
            target.write(chunk)
        target.flush()
        return True
    except BrokenPipeError:
        return False
    finally:
        source.close()


def _text(errors) -> str:
    errors.seek(0)
    return errors.read().decode("utf-8", "replace").strip()
