"""Database plumbing: the declarative base, one engine and session factory per app, and types.

Views get the request's session with ``get_db()`` and commit once; the session is closed (and any
uncommitted work rolled back) when the request ends, so a failed request leaves nothing behind.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Integer, MetaData, String, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones and hands back naive datetimes; this type stores UTC and always returns
    an aware value, so comparisons with ``utcnow()`` work the same on SQLite and PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use lms.db.utcnow() or an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- SQL for hot read-only statements ------------------------------------------------------------------
# Built like functions, but rendered with nothing left for each execution: SQLAlchemy's own
# aggregate_strings renders its separator as a literal at every execution (a "post-compile" parameter),
# and a DateTime column is parsed into a datetime for every row on SQLite. The same results on SQLite
# and PostgreSQL.

class joined_strings(FunctionElement):  # noqa: N801  (used like func.*)
    """The aggregate ``group_concat(expr, ',')`` (SQLite) / ``string_agg(expr, ',')`` (PostgreSQL): the
    values joined by commas, in no particular order; NULL values left out, NULL when there are none."""

    type = String()
    inherit_cache = True


@compiles(joined_strings, "sqlite")
def _joined_strings_sqlite(element, compiler, **kw):
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


@compiles(joined_strings)
def _joined_strings(element, compiler, **kw):
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


class utc_date_text(FunctionElement):  # noqa: N801
    """A UTCDateTime column's calendar date in UTC as text, "2026-12-07" (NULL stays NULL): SQLite
    stores the naive UTC timestamp as text, PostgreSQL a timestamptz shown in UTC."""

    type = String()
    inherit_cache = True


@compiles(utc_date_text, "sqlite")
def _utc_date_text_sqlite(element, compiler, **kw):
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(utc_date_text)
def _utc_date_text(element, compiler, **kw):
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class truncated(FunctionElement):  # noqa: N801
    """A number truncated toward zero to an integer, as Python's ``int()`` does a float (NULL stays
    NULL): CAST AS INTEGER on SQLite; on PostgreSQL, whose CAST rounds, trunc() first."""

    type = Integer()
    inherit_cache = True


@compiles(truncated, "sqlite")
def _truncated_sqlite(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


@compiles(truncated)
def _truncated(element, compiler, **kw):
    return f"CAST(trunc({compiler.process(element.clauses, **kw)}) AS INTEGER)"


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine with the settings each backend needs to be safe under concurrency, whose
    transactions begin at the first write (see below)."""
    # The driver runs in autocommit; _begin_before_first_write begins the transactions. A caller that
    # gives another isolation level gets the driver's own behaviour.
    kwargs.setdefault("isolation_level", "AUTOCOMMIT")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            # No memory-mapped I/O: with several worker processes writing, every commit that grows the
            # file makes the others unmap, remap and fault its pages back in, which costs more CPU
            # than reading the few pages a request needs (measured with `make bench`, quiz scenario).
            cursor.execute("PRAGMA mmap_size=0")
            cursor.close()
    else:
        # connect_timeout: an unreachable server fails a request in seconds.
        connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
        engine = create_engine(url, pool_size=5, max_overflow=10, connect_args=connect_args, **kwargs)
        _ping_idle_connections(engine)
    if kwargs["isolation_level"] == "AUTOCOMMIT" and engine.dialect.name in _BEGIN:
        event.listen(engine, "before_cursor_execute", _begin_before_first_write, retval=True)
    return engine


# -- Pre-ping of the connections that were idle (decision 0027) ---------------------------------------
# A connection the server dropped (a restart, a failover, a proxy's or firewall's idle cut) is found
# and replaced before a request uses it: SQLAlchemy's pool_pre_ping, except that a connection back in
# the pool for less than PING_AFTER_IDLE_S is handed out unpinged. Under load a connection is reused
# within milliseconds, and the ping was a round trip on every request (0.1-0.3 ms of a 1-2 ms page
# on PostgreSQL). A connection that dies while in such use fails its request's first statement
# instead: a 503 (lms.errors), and SQLAlchemy then invalidates the whole pool, so the next requests
# get fresh connections. Nothing is written by a request whose connection is gone.

PING_AFTER_IDLE_S = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["lms.checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, _proxy):
        checked_in_at = record.info.get("lms.checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_S:
            return  # (a new connection, or one in use a moment ago)
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            if not engine.dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # The pool discards this connection and checks out a new one (up to three tries).
            raise DisconnectionError("the database closed this pooled connection")


# -- Transactions begin at the first write (decision 0027) ---------------------------------------------
# A DB-API driver begins a transaction by itself: psycopg sends BEGIN before a connection's first
# statement, and the session ends with ROLLBACK, two round trips to PostgreSQL that a request which
# only reads (most page views) pays as much for as for its own statements. Python's sqlite3 begins
# before the first INSERT/UPDATE/DELETE only, so a SAVEPOINT or DDL before any of those ran outside a
# transaction, and releasing such a savepoint committed its work on the spot. Instead, both drivers
# run in autocommit and a transaction is begun here, right before the first statement that is not a
# plain read. Reads outside a transaction give up nothing at PostgreSQL's READ COMMITTED, where each
# statement takes its own snapshot anyway; reads that must hold their rows (FOR UPDATE/SHARE) begin the
# transaction, as do savepoints and DDL. COMMIT and ROLLBACK end it: both drivers send them while the
# database is in a transaction. SQLite begins IMMEDIATE, taking the write lock (waiting for it up to
# busy_timeout) at once, as the first write would.

_LOCKING_READ = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)
_WRITING_FUNCTIONS = ("setval(", "nextval(")


@functools.lru_cache(maxsize=2048)
def is_plain_read(statement: str) -> bool:
    """Whether a statement runs outside a transaction: a SELECT that takes no row locks, SHOW, or
    SQLite's PRAGMA (whose settings, like foreign_keys, change only outside one). Anything else is
    not, including a WITH, which could hold a data-modifying part, and a SELECT of a sequence function."""
    words = statement.split(None, 1)
    head = words[0].upper() if words else ""
    if head in ("SHOW", "PRAGMA"):
        return True
    return (head == "SELECT" and not _LOCKING_READ.search(statement)
            and not any(function in statement for function in _WRITING_FUNCTIONS))


def _begin_psycopg(driver_connection) -> None:
    from psycopg.pq import TransactionStatus  # noqa: PLC0415  (installed for PostgreSQL only)
    if driver_connection.autocommit and driver_connection.info.transaction_status == TransactionStatus.IDLE:
        driver_connection.execute("BEGIN")


def _begin_sqlite(driver_connection) -> None:
    if driver_connection.isolation_level is None and not driver_connection.in_transaction:
        driver_connection.execute("BEGIN IMMEDIATE")


_BEGIN = {"postgresql": _begin_psycopg, "sqlite": _begin_sqlite}


def _begin_before_first_write(conn, cursor, statement, parameters, context, _executemany):
    # A connection asked for its own isolation level (AUTOCOMMIT for VACUUM, say) is left as asked. A
    # streamed read on PostgreSQL needs the transaction too: its server-side cursor lives in one
    # (SQLite streams from the file and would only take the write lock for nothing).
    if "isolation_level" in conn.get_execution_options():
        return statement, parameters
    options = context.execution_options if context is not None else {}
    streamed = conn.dialect.name == "postgresql" and (options.get("stream_results") or options.get("yield_per"))
    if streamed or not is_plain_read(statement):
        _BEGIN[conn.dialect.name](cursor.connection)
    return statement, parameters


def begin_for_driver(connection) -> None:
    """Before using the driver's connection directly (psycopg's COPY, which SQLAlchemy does not see):
    begin the SQLAlchemy connection's database transaction if it has not begun, so that the work
    joins it and a rollback undoes it."""
    begin = _BEGIN.get(connection.dialect.name)
    if begin is not None and "isolation_level" not in connection.get_execution_options():
        begin(connection.connection.driver_connection)


def init_app(app: Flask, settings) -> None:
    engine = make_engine(settings.database_url)
    app.extensions["lms.engine"] = engine
    # Services reach the settings through their session (``db.info["settings"]``), not through Flask:
    # a signal handler that signs a credential runs the same in a request, a job or a command.
    app.extensions["lms.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False,
                                                      info={"settings": settings})
    app.teardown_appcontext(_close_db)


def get_db() -> Session:
    """The session of the current request or CLI command (created on first use)."""
    db = g.get("db")
    if db is None:
        db = g.db = current_app.extensions["lms.sessionmaker"]()
    return db


def get_engine(app: Flask | None = None) -> Engine:
    return (app or current_app).extensions["lms.engine"]


def _close_db(_exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def suspend_triggers(connection) -> Callable[[], None]:
    """Turn this database's triggers off inside the caller's transaction, for a bulk load that sets
    what they would have kept (``flask seed``); returns the function that turns them on again. A
    rollback turns them on as well: SQLite and PostgreSQL both roll back DDL. PostgreSQL disables
    them per table (``DISABLE TRIGGER USER``, constraint triggers untouched); SQLite has no such
    switch, so its triggers are dropped and created again from their stored SQL."""
    if connection.dialect.name == "postgresql":
        tables = connection.execute(text(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers "
            "WHERE trigger_schema = current_schema()")).scalars().all()
        for table in tables:
            connection.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER USER'))

        def resume() -> None:
            for table in tables:
                connection.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER USER'))
        return resume
    triggers = connection.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all()
    for name, _sql in triggers:
        connection.execute(text(f'DROP TRIGGER "{name}"'))

    def recreate() -> None:
        for _name, sql in triggers:
            connection.execute(text(sql))
    return recreate


def include_object_for(dialect_name: str):
    """Alembic's ``include_object`` hook for one database: a model object made for other databases
    only (``Index(...).ddl_if(dialect=...)``, which Alembic's comparison does not read) is left out."""
    def include_object(obj, _name, _type, _reflected, _compare_to) -> bool:
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect is None or condition.dialect == dialect_name
    return include_object
