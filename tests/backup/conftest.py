"""Helpers for the backup tests: every table's rows, a capstone draft to attach files to, the CLI."""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import create_engine, inspect, select, text

from lms.capstones import services as capstone_services
from tests.capstones.conftest import capstone_setup, store  # noqa: F401 - fixtures used here

ON_POSTGRES = bool(os.environ.get("LMS_TEST_DATABASE_URL"))


def all_rows(database_url: str) -> dict[str, list[tuple]]:
    """Every table's rows, each table sorted, read through a fresh engine (the file or the tables may
    have been replaced under the app's)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            rows = {}
            for table in tables:
                result = conn.execute(text(f'SELECT * FROM "{table}"'))
                rows[table] = sorted((tuple(row) for row in result), key=repr)
            return rows
    finally:
        engine.dispose()


def run_cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def assert_clean_failure(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # a message, never a traceback
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.fixture
def settings(app):
    return app.config["LMS_SETTINGS"]


@pytest.fixture
def populated(app, db, capstone_setup, store):  # noqa: F811
    """A learner's submitted capstone with an uploaded file, and a signing key."""
    setup = capstone_setup()
    record = setup.record(db)
    capstone_services.save_draft(db, setup.enrollment.id, record, "## Summary\n\nDraft text.",
                                 ["https://github.com/lee/bikes"])
    capstone_services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(b"trip_id,minutes\n1,12\n"),
                               "trips.csv")
    db.commit()
    keygen = run_cli(app, "credentials", "keygen")
    assert keygen.exit_code == 0, keygen.output
    return setup


def submission_files(database_url: str) -> list[tuple]:
    from lms.capstones.models import SubmissionFile

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(SubmissionFile.name, SubmissionFile.sha256, SubmissionFile.size)))
    finally:
        engine.dispose()
