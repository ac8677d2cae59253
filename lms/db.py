"""Database plumbing: the declarative base, one engine and session factory per app, and types.

Views get the request's session with ``get_db()`` and commit once; the session is closed (and any
uncommitted work rolled back) when the request ends, so a failed request leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Integer, MetaData, String, create_engine, event, text
from sqlalchemy.engine import Engine
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
    """Create an engine with the settings each backend needs to be safe under concurrency."""
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

        return engine
    # Pre-ping: a connection the server dropped (restart, failover, a proxy's idle cut) is replaced
    # before a request uses it. connect_timeout: an unreachable server fails a request in seconds.
    connect_args = {"connect_timeout": 5} if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args,
                         **kwargs)


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
