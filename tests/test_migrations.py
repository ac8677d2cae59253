"""Alembic migrations build exactly the schema the models describe, from an empty database and from
every earlier revision with data in it, and each step downgrades and upgrades again, on SQLite and
PostgreSQL (whichever the suite runs on)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.engine import make_url

from lms.db import include_object_for
from lms.migrate import alembic_config, downgrade, upgrade
from lms.models import Base


def test_migrations_match_the_models(database_url):
    assert _models_diff(database_url) == [], \
        "run `alembic revision --autogenerate` and review it: models and migrations differ"


def test_downgrade_to_empty_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    downgrade(url, "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)
    engine = create_engine(url)
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()


# -- upgrades from every earlier revision, with rows in every table ------------------------------
#
# A migration that works on an empty database can still fail on a real one (a NOT NULL column
# without a default, a unique index over duplicate data, a table rebuilt by SQLite's batch mode
# losing rows). So at every earlier revision each table gets a row, filled from the schema as it
# is at that revision (reflected, not the models), and then the database is upgraded to head.

REVISIONS = [script.revision for script in reversed(list(
    ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))]
HEAD = REVISIONS[-1]
# What a generic value cannot satisfy: check constraints that tie columns together or bound a number.
ROW_OVERRIDES = {
    "status_lists": {"entries": 131072, "purpose": "revocation"},  # PostgreSQL gives a one-value IN back as =
    "achievements": {"kind": "pathway"},  # a course achievement must name a course; a pathway one not
    "quiz_attempts": {"state": "open"},  # an open attempt has no submitted_at
    "submissions": {"state": "draft"},  # a draft is neither submitted, claimed nor decided
    "reviews": {"outcome": "passed", "meets_rule": True},  # anything else needs an override reason
}
# The first value a check constraint lists for a column: `state IN ('draft', ...)` as SQLite gives it
# back, `((state)::text = ANY ((ARRAY['draft'::character varying, ...` as PostgreSQL does.
_IN_LIST = re.compile(r"(\w+)\s+IN\s*\(\s*'([^']*)'|\(?(\w+)\)?::text\s*=\s*ANY\s*\(\(?ARRAY\['([^']*)'",
                      re.IGNORECASE)


@pytest.fixture
def empty_database_url(tmp_path, database_url) -> Iterator[str]:
    """A database of its own with no tables, of the kind the suite runs on."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrating.db'}"
        return
    base = make_url(database_url)
    name = f"{base.database}_migrating"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _value(column, table_name: str, row_number: int, enum_values: dict[str, str]):
    if column.name in ROW_OVERRIDES.get(table_name, {}):
        return ROW_OVERRIDES[table_name][column.name]
    if column.name in enum_values:
        return enum_values[column.name]
    python_type = _python_type(column)
    if python_type is bool:
        return False
    if python_type in (int, float, Decimal):
        return row_number
    if python_type is datetime:
        return datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(days=row_number)
    if python_type is date:
        return date(2026, 1, 1)
    if python_type is bytes:
        return b"x" * 32
    if python_type in (dict, list):
        return {}
    text_value = f"{column.name[:40]}-{row_number}"
    length = getattr(column.type, "length", None)
    return text_value[-length:] if length else text_value


def _python_type(column):
    try:
        return column.type.python_type
    except NotImplementedError:
        return str


def fill_every_table(url: str) -> dict[str, int]:
    """Insert one row into each table (two into users), referencing earlier rows; returns the row counts.

    The counts are read back after the inserts, not counted as inserted: triggers keep rows of their own
    (change_stamps gets one per learner and scope an insert touches), and those must survive too."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    inspector = inspect(engine)
    counts = {}
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            if table.name == "alembic_version":
                continue
            enum_values = {}
            for check in inspector.get_check_constraints(table.name):
                for sqlite_column, sqlite_first, pg_column, pg_first in _IN_LIST.findall(check["sqltext"]):
                    enum_values.setdefault(sqlite_column or pg_column, sqlite_first or pg_first)
            rows = 2 if table.name == "users" else 1
            for number in range(1, rows + 1):
                row = {}
                for column in table.columns:
                    foreign = next(iter(column.foreign_keys), None)
                    if foreign is not None:
                        row[column.name] = 1 if not column.nullable or column.name in ROW_OVERRIDES.get(
                            table.name, {}) else None
                        continue
                    if column.primary_key and _python_type(column) is int and len(table.primary_key) == 1:
                        continue  # the database numbers it
                    if column.nullable and column.name not in ROW_OVERRIDES.get(table.name, {}):
                        continue
                    row[column.name] = _value(column, table.name, number, enum_values)
                conn.execute(table.insert().values(row))
            counts[table.name] = rows
    engine.dispose()
    return _row_counts(url, counts)


def _row_counts(url: str, tables) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {name: conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one() for name in tables}
    engine.dispose()
    return counts


def _schema(url: str) -> dict:
    """What a migration step must restore: tables, columns, indexes, constraints (by name)."""
    engine = create_engine(url)
    inspector = inspect(engine)
    schema = {}
    for table in sorted(inspector.get_table_names()):
        schema[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
            "uniques": sorted(str(u["name"]) for u in inspector.get_unique_constraints(table)),
            "foreign_keys": sorted(str(f["name"]) for f in inspector.get_foreign_keys(table)),
            "checks": sorted(str(c["name"]) for c in inspector.get_check_constraints(table)),
        }
    engine.dispose()
    return schema


def _models_diff(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": include_object_for(conn.dialect.name)}), Base.metadata)
    engine.dispose()
    return diff


def _triggers(url: str) -> set[str]:
    """The database's own triggers, as "table.trigger" (SQLite's batch mode drops a rebuilt table's)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = ("SELECT c.relname || '.' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                   "JOIN pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE NOT t.tgisinternal AND n.nspname = current_schema()")
        names = set(conn.execute(text(sql)).scalars())
    engine.dispose()
    return names


@pytest.mark.parametrize("revision", REVISIONS[:-1])
def test_upgrade_from_an_earlier_revision_with_data(empty_database_url, revision):
    upgrade(empty_database_url, revision)
    filled = fill_every_table(empty_database_url)
    triggers = _triggers(empty_database_url)
    upgrade(empty_database_url, HEAD)
    assert _models_diff(empty_database_url) == []
    still_there = {name: count for name, count in filled.items() if name in Base.metadata.tables}
    assert _row_counts(empty_database_url, still_there) == still_there, "an upgrade lost rows"
    assert triggers <= _triggers(empty_database_url), "an upgrade lost triggers"


def test_0014_names_the_course_credential_a_cascade_revocation_fell_with(empty_database_url):
    """Before 0014 a cascade was known by its reason's first sentence; the upgrade finds, for each, the
    holder's course credential revoked at the same instant, and leaves other revocations alone."""
    upgrade(empty_database_url, "0013")
    fill_every_table(empty_database_url)  # one pathway achievement, its version, a credential of it
    engine = create_engine(empty_database_url)
    metadata = MetaData()
    metadata.reflect(engine)
    achievements, versions, credentials = (metadata.tables[name] for name in
                                           ("achievements", "achievement_versions", "credentials"))
    at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    with engine.begin() as conn:
        def copy(table, changes):
            row = dict(conn.execute(table.select().where(table.c.id == 1)).mappings().one())
            del row["id"]
            return conn.execute(table.insert().values({**row, **changes})).inserted_primary_key[0]
        course_achievement = copy(achievements, {"kind": "course", "slug": "course-one", "course_id": 1})
        course_version = copy(versions, {"achievement_id": course_achievement})
        course_credential = copy(credentials, {
            "achievement_id": course_achievement, "achievement_version_id": course_version, "public_id": "c" * 36,
            "status_index": 2, "revoked_at": at, "revoke_reason": "Plagiarised."})
        cascade = "A course credential it rests on was revoked. Reason given: Plagiarised."
        conn.execute(credentials.update().where(credentials.c.id == 1)
                     .values(revoked_at=at, revoke_reason=cascade))
        look_alike = copy(credentials, {"public_id": "d" * 36, "status_index": 3,
                                        "revoked_at": at + timedelta(days=1), "revoke_reason": cascade})
    engine.dispose()
    upgrade(empty_database_url, HEAD)
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        named = dict(conn.execute(text("SELECT id, revoked_with_id FROM credentials")).all())
    engine.dispose()
    assert named == {1: course_credential, course_credential: None, look_alike: None}


@pytest.mark.parametrize("revision", REVISIONS)
def test_downgrade_one_step_and_back_with_data(empty_database_url, revision):
    position = REVISIONS.index(revision)
    if position:
        upgrade(empty_database_url, REVISIONS[position - 1])
        fill_every_table(empty_database_url)
    upgrade(empty_database_url, revision)
    at_revision = _schema(empty_database_url)
    downgrade(empty_database_url, "-1")
    upgrade(empty_database_url, revision)
    assert _schema(empty_database_url) == at_revision
