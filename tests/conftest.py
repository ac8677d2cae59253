"""Test fixtures: a migrated database per pytest worker, an app per test, clients, factories.

Databases: SQLite by default. With LMS_TEST_DATABASE_URL=postgresql+psycopg://.../test the same
suite runs against PostgreSQL, each xdist worker in its own database (test_gw0, test_gw1, ...),
created and migrated with Alembic at the start. A PostgreSQL that was asked for but does not
answer stops the run with an error: it is never skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from lms import create_app
from lms.capstones import services as capstone_services
from lms.catalog import services as catalog_services
from lms.config import load_settings
from lms.credentials import eligibility
from lms.db import Base, get_engine
from lms.migrate import upgrade
from lms.quizzes import services as quiz_services

# Fixtures that tests of several packages use: a real SMTP server (tests/smtp_server.py).
pytest_plugins = ("tests.smtp_server",)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_COURSES = Path(__file__).resolve().parent / "fixtures" / "courses"
PASSWORD = "correct horse battery"
PG_ENV = "LMS_TEST_DATABASE_URL"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    requested = os.environ.get(PG_ENV)
    if not requested:
        path = tmp_path_factory.mktemp("db") / "test.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        yield url
        return
    base = make_url(requested)
    worker_db = f"{base.database}_{_worker()}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{worker_db}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{worker_db}"'))
    except Exception as exc:  # noqa: BLE001 - any failure to reach it ends the run with its reason
        pytest.exit(f"{PG_ENV} is set but PostgreSQL at {base.render_as_string(hide_password=True)} "
                    f"did not answer: {exc}", returncode=3)
    url = base.set(database=worker_db).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{worker_db}" WITH (FORCE)'))
    admin_engine.dispose()


REDIS_ENV = "LMS_TEST_REDIS_URL"


@pytest.fixture
def redis_url():
    """The local Redis for tests that need a real one: skipped without it, except under CI."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REDIS_ENV} is not set under CI: .ci/run must point it at the local Redis")
        pytest.skip(f"Redis not configured: set {REDIS_ENV}=redis://127.0.0.1:6379/0 to run this test")
    return url


def make_settings(tmp_path: Path, database_url: str, **overrides):
    values = dict(env="testing", instance_dir=tmp_path / "instance", database_url=database_url,
                  courses_dir=FIXTURE_COURSES, password_hash="fast", secret_key="test-secret-key",
                  public_url="http://localhost")
    values.update(overrides)
    return load_settings(values)


def _empty_all_tables(engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


def _clear_process_caches() -> None:
    """Tests reuse ids after emptying tables, which production never does: start each test cold."""
    catalog_services._outline_cache.clear()
    catalog_services._html_cache.clear()
    quiz_services._records.clear()
    quiz_services._quizzes.clear()
    capstone_services._versions.clear()
    capstone_services._graded_lists.clear()
    eligibility._achievement_cache.clear()


@pytest.fixture
def app(tmp_path, database_url):
    application = create_app(make_settings(tmp_path, database_url))
    _clear_process_caches()
    yield application
    _empty_all_tables(get_engine(application))
    get_engine(application).dispose()
    _clear_process_caches()


@pytest.fixture
def db(app):
    """A session of the test's own, for factories and assertions.

    Deliberately not inside an app context: Flask reuses an app context that is already pushed for
    the test client's requests, which would share ``g`` (and the logged-in user) between requests.
    Call ``db.rollback()`` before reading what a request wrote.
    """
    session = app.extensions["lms.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def hasher(app):
    return app.extensions["lms.password_hasher"]


# -- SQL statement counting -----------------------------------------------------------------------

class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """``with count_queries() as counter: client.get(...)`` then ``counter.count``."""

    @contextmanager
    def counting():
        counter = QueryCounter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("PRAGMA", "SAVEPOINT", "RELEASE")):
                counter.statements.append(statement)

        engine = get_engine(app)
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counting


def dashboard_statements(app, client, count_queries) -> tuple[int, int]:
    """SQL statements of a learner dashboard rendered (with the other per-process caches warm, as in
    steady state) and of the same dashboard served from the dashboard cache; the two pages are the same."""
    client.get("/dashboard")
    app.extensions["lms.dashboard_cache"].clear()
    with count_queries() as rendered:
        first = client.get("/dashboard")
    with count_queries() as cached:
        again = client.get("/dashboard")
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    return rendered.count, cached.count


# -- forms and logins -----------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    match = CSRF_INPUT.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = PASSWORD, next_url: str | None = None):
        data = {"email": email, "password": password, "csrf_token": csrf_token(self.client, "/login")}
        if next_url:
            data["next"] = next_url
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/courses")})

    def post(self, url: str, data: dict | None = None, form_page: str = "/courses", **kwargs):
        """POST a form with a valid CSRF token taken from ``form_page``."""
        return self.client.post(url, data={**(data or {}), "csrf_token": csrf_token(self.client, form_page)},
                                **kwargs)


@pytest.fixture
def auth(client):
    return Auth(client)


# -- factories ------------------------------------------------------------------------------------

@pytest.fixture
def make_user(db, hasher):
    from lms.auth.services import create_user

    counter = iter(range(1, 10_000))

    def factory(email: str | None = None, name: str = "Test Learner", password: str = PASSWORD,
                admin: bool = False, verified: bool = True):
        user = create_user(db, hasher, email or f"user{next(counter)}@example.com", name, password,
                           is_admin=admin, verified=verified)
        db.commit()
        return user

    return factory


def write_course(root: Path, slug: str = "demo-course", modules: int = 2, lessons: int = 3,
                 extra_course_yml: str = "", title: str | None = None) -> Path:
    """Write a small valid course folder: ``modules`` modules of ``lessons`` lessons each."""
    folder = root / slug
    (folder / "assets").mkdir(parents=True, exist_ok=True)
    (folder / "assets" / "diagram.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><title>d</title></svg>')
    (folder / "course.yml").write_text(textwrap.dedent(f"""\
        title: {title or slug.replace('-', ' ').title()}
        summary: A course used by the tests about {slug}.
        level: beginner
        estimated_hours: 2
        skills: [testing, {slug}]
        outcomes: [Write tests]
        reviewed_on: 2026-10-01
        """) + extra_course_yml)
    for m in range(1, modules + 1):
        module = folder / f"{m:02d}-module-{m}"
        module.mkdir(exist_ok=True)
        (module / "module.yml").write_text(f"title: Module {m}\n")
        for n in range(1, lessons + 1):
            (module / f"{n:02d}-lesson-{n}.md").write_text(textwrap.dedent(f"""\
                ---
                title: Lesson {m}.{n}
                minutes: 5
                ---
                Body of lesson {m}.{n}.

                ![A diagram](../assets/diagram.svg)

                ```python
                print({m} + {n})
                ```
                """))
    return folder


@pytest.fixture
def courses_root(tmp_path) -> Path:
    root = tmp_path / "courses"
    root.mkdir()
    return root


@pytest.fixture
def make_course(db, app, courses_root):
    """Write a course folder and sync it; returns the Course row."""
    from lms.catalog.models import Course
    from lms.catalog.services import sync_courses
    from lms.content import load_courses

    def factory(slug: str = "demo-course", **kwargs):
        folder = write_course(courses_root, slug, **kwargs)
        result = load_courses(folder)
        assert result.ok, [str(p) for p in result.errors]
        sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
        db.commit()
        return db.query(Course).filter_by(slug=slug).one()

    return factory


@pytest.fixture
def enroll(db):
    from lms.enrollments.services import enroll as enroll_service

    def factory(user, course, track: str = "credential"):
        enrollment = enroll_service(db, user.id, course, track)
        db.commit()
        return enrollment

    return factory


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput"):
        return
    if os.environ.get(PG_ENV):
        terminalreporter.write_line(f"Database: PostgreSQL ({PG_ENV}).")
    else:
        terminalreporter.write_line(
            f"Database: SQLite. PostgreSQL pass not run: set {PG_ENV}="
            "postgresql+psycopg://postgres@127.0.0.1:5432/test to run this suite against PostgreSQL too "
            "(.ci/run does).", yellow=True)
    if not os.environ.get("LMS_TEST_REDIS_URL"):
        terminalreporter.write_line("Redis tests skipped: set LMS_TEST_REDIS_URL=redis://127.0.0.1:6379/0 "
                                    "to run them (.ci/run does).", yellow=True)


@pytest.fixture
def copy_courses(tmp_path) -> Path:
    """A writable copy of the repository's real courses/ folder."""
    target = tmp_path / "real-courses"
    shutil.copytree(ROOT / "courses", target)
    return target
