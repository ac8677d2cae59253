"""When the database transaction begins (decision 0027): at the first statement that writes or locks,
on both backends. A page view that only reads holds no transaction and costs no BEGIN/ROLLBACK round
trips on PostgreSQL; work of several statements is still all or nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from lms.auth.models import User
from lms.db import begin_for_driver, get_engine, is_plain_read


def in_transaction(connection) -> bool:
    """Whether the database itself is in a transaction on this connection (not SQLAlchemy's idea)."""
    driver = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        from psycopg.pq import TransactionStatus  # noqa: PLC0415
        return driver.info.transaction_status != TransactionStatus.IDLE
    return driver.in_transaction


def _names(app) -> list[str]:
    with app.extensions["lms.sessionmaker"]() as other:
        return other.scalars(select(User.name).order_by(User.name)).all()


def test_reads_hold_no_transaction_and_the_first_write_begins_one(app, db, make_user):
    make_user("reader@example.com", name="Before")
    user_id = db.scalar(select(User.id).where(User.email == "reader@example.com"))
    assert not in_transaction(db.connection())
    db.execute(update(User).where(User.id == user_id).values(name="After"))
    assert in_transaction(db.connection())
    assert _names(app) == ["Before"]  # not visible to others before the commit
    db.rollback()
    assert _names(app) == ["Before"]
    db.execute(update(User).where(User.id == user_id).values(name="After"))
    db.commit()
    assert not in_transaction(db.connection())
    assert _names(app) == ["After"]


def test_a_failed_write_of_several_statements_leaves_nothing(app, db, make_user):
    make_user("taken@example.com", name="Taken")
    db.add(User(email="first@example.com", name="First", password_hash="x"))
    db.flush()
    db.add(User(email="taken@example.com", name="Duplicate", password_hash="x"))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()
    assert _names(app) == ["Taken"]  # the first insert went with the second


def test_a_savepoint_first_begins_the_transaction_around_it(app, db, make_user):
    make_user("saved@example.com", name="Saved")
    with db.begin_nested():
        db.execute(update(User).values(name="Inside"))
    assert in_transaction(db.connection())
    db.rollback()
    assert _names(app) == ["Saved"]


def test_a_locking_read_begins_the_transaction_and_holds_its_rows(app, db, make_user, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SELECT ... FOR UPDATE is PostgreSQL's (SQLite locks the whole file at the first write)")
    make_user("locked@example.com", name="Locked")
    user = db.scalar(select(User).where(User.email == "locked@example.com").with_for_update())
    assert in_transaction(db.connection())
    with get_engine(app).connect() as other:
        other.execute(text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(OperationalError, match="lock"):
            other.execute(update(User).where(User.id == user.id).values(name="Elsewhere"))
        other.rollback()
    db.rollback()


def test_the_driver_used_directly_joins_the_transaction(app, db, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("COPY through the driver is PostgreSQL's")
    connection = db.connection()
    begin_for_driver(connection)
    with connection.connection.driver_connection.cursor() as cursor, \
            cursor.copy("COPY users (email, name, password_hash, unread_notifications, is_admin, "
                        "password_changed_at, created_at) FROM STDIN") as copy:
        copy.write_row(("copied@example.com", "Copied", "x", 0, False, "2026-12-07", "2026-12-07"))
    db.rollback()
    assert _names(app) == []


def test_a_streamed_read_on_postgresql_runs_in_a_transaction(app, db, make_user, database_url):
    for number in range(3):
        make_user(f"streamed{number}@example.com")
    rows = db.execute(select(User.email).order_by(User.email), execution_options={"yield_per": 2})
    assert [email for (email,) in rows] == [f"streamed{number}@example.com" for number in range(3)]
    # PostgreSQL's server-side cursor lives in a transaction; SQLite's read takes no write lock.
    assert in_transaction(db.connection()) is database_url.startswith("postgresql")
    db.rollback()


def _statements_and_transaction(app):
    """Each statement a request runs, with whether the database was in a transaction after it."""
    seen: list[tuple[str, bool]] = []

    def after(conn, _cursor, statement, *_rest):
        seen.append((statement.split()[0].upper(), in_transaction(conn)))

    event.listen(get_engine(app), "after_cursor_execute", after)
    return seen, lambda: event.remove(get_engine(app), "after_cursor_execute", after)


def test_a_page_view_that_only_reads_holds_no_transaction(app, auth, client, make_user, make_course, enroll):
    enroll(make_user("viewer@example.com"), make_course("py"))
    auth.login("viewer@example.com")
    assert client.get("/courses/py/module-1/lesson-1").status_code == 200  # records the visit
    seen, stop = _statements_and_transaction(app)
    try:
        assert client.get("/courses/py/module-1/lesson-1").status_code == 200  # the same lesson again
        assert client.get("/dashboard").status_code == 200
        reads = list(seen)
        seen.clear()
        assert client.get("/courses/py/module-1/lesson-2").status_code == 200  # a visit to record
    finally:
        stop()
    assert reads and all(kind == "SELECT" and not held for kind, held in reads), reads
    writes = [held for kind, held in seen if kind == "UPDATE"]
    assert writes == [True], seen  # the visit's UPDATE ran in a transaction, and it was committed:
    with app.extensions["lms.sessionmaker"]() as other:
        from lms.enrollments.models import Enrollment  # noqa: PLC0415
        assert other.scalar(select(Enrollment.last_item_id)) is not None


@pytest.mark.parametrize(("statement", "plain"), [
    ("SELECT users.id FROM users WHERE users.id = %(id)s", True),
    ("  select 1", True),
    ("SHOW server_version", True),
    ("SELECT users.id FROM users FOR UPDATE", False),
    ("SELECT users.id FROM users WHERE id = 1 FOR NO KEY UPDATE OF users", False),
    ("SELECT id FROM status_lists FOR SHARE", False),
    ("SELECT setval(pg_get_serial_sequence('users', 'id'), 5)", False),
    ("SELECT nextval('users_id_seq')", False),
    ("WITH moved AS (DELETE FROM users RETURNING id) SELECT count(*) FROM moved", False),
    ("INSERT INTO users (email) VALUES (%(email)s)", False),
    ("UPDATE users SET name = 'x'", False),
    ("SAVEPOINT sa_savepoint_1", False),
    ("CREATE INDEX ix ON users (name)", False),
    ("SELECT 'a stored text that says FOR UPDATE'", False),
    ("PRAGMA foreign_keys=OFF", True),
    ("", False),  # the cautious side of a cheap check
])
def test_which_statements_run_outside_a_transaction(statement, plain):
    assert is_plain_read(statement) is plain
