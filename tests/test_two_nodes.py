"""Two app nodes, one PostgreSQL, one Redis: what docs/operations.md ("Scaling out") promises.

Two real gunicorn processes (deploy/gunicorn.conf.py, LMS_ENV=production, one worker each) on two
ports, each with an instance folder of its own, sharing what a deployment shares: the database, Redis
(rate limits and the job queue), LMS_SECRET_KEY, LMS_ISSUER_KEY, and the uploads and media folders
(LMS_UPLOADS_DIR, LMS_MEDIA_DIR: a shared volume). A browser talks to either node under one public
host name, as behind a load balancer. The database is migrated and the course synced with the
product's own commands (`flask db upgrade`, `flask courses sync`); accounts are registered through the
site. Shown: a session started on one node works on the other (and a logout on either ends it), the
login throttle counts across both, a job queued by one runs once although two workers on two nodes
and cron's run-due all go for it, a file uploaded through one downloads through the other, and a
lesson completed through one shows on the dashboard the other had cached.

Needs LMS_TEST_DATABASE_URL (PostgreSQL; skipped on SQLite runs, like every postgres_only test: .ci/run's
PostgreSQL pass runs it) and LMS_TEST_REDIS_URL (skipped without it, failed under CI=true). Either set
but not answering fails, never skips.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from redis import Redis
from rq import Queue
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.app_nodes import Browser, Node, clean_environ, flask, path_of, start_flask, stop_process
from tests.capstones.conftest import write_capstone_course
from tests.conftest import PASSWORD, PG_ENV, REDIS_ENV, _worker
from tests.smtp_server import SmtpServer, free_port

PUBLIC_HOST = "learn.example.test"
COURSE = "two-nodes"
REDIS_DB = 11  # a Redis database of this test's own (the other Redis tests use the one named)


pytestmark = pytest.mark.postgres_only


def _required(name: str, example: str, *, ci_must_set: bool) -> str:
    value = os.environ.get(name)
    if not value:
        message = f"{name} is not set: the two-node test needs it ({name}={example})"
        if ci_must_set and os.environ.get("CI") == "true":
            pytest.fail(message + "; .ci/run must set it")
        pytest.skip(message)
    return value


def _own_redis_db(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", parts.query, parts.fragment))


@dataclass
class Cluster:
    a: Node
    b: Node
    env: dict[str, str]  # what every node shares (each adds its own LMS_INSTANCE_DIR)
    engine: Engine  # the shared database, for assertions
    redis: Redis
    queue: str
    smtp: SmtpServer
    shared: Path
    logs: Path
    run: str
    client_ips: list[str] = field(default_factory=list)

    def browser(self) -> Browser:
        browser = Browser(PUBLIC_HOST)
        self.client_ips.append(browser.client_ip)
        return browser

    def email(self, who: str) -> str:
        return f"{who}-{self.run}@example.com"

    def register(self, browser: Browser, node: Node, who: str) -> str:
        email = self.email(who)
        answer = browser.post(node, "/register", {"name": f"Two Nodes {who.title()}", "email": email,
                                                  "password": PASSWORD, "confirm": PASSWORD}, form_page="/register")
        assert answer.status == 302, f"registration on node {node.name}: {answer.status}\n{answer.text[:2000]}"
        return email

    def log_in(self, browser: Browser, node: Node, email: str, password: str = PASSWORD):
        return browser.post(node, "/login", {"email": email, "password": password}, form_page="/login")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    # PostgreSQL: the SQLite pass of .ci/run skips it (as every postgres_only test); the PostgreSQL pass runs it.
    pg_url = _required(PG_ENV, "postgresql+psycopg://postgres@127.0.0.1:5432/test", ci_must_set=False)
    redis_url = _own_redis_db(_required(REDIS_ENV, "redis://127.0.0.1:6379/0", ci_must_set=True))
    root = tmp_path_factory.mktemp("two-nodes")
    logs = root / "logs"
    logs.mkdir()
    run = uuid.uuid4().hex[:10]

    base = make_url(pg_url)
    database = f"{base.database}_twonode_{_worker()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
    except Exception as exc:  # noqa: BLE001 - set but not answering: fail with the reason, never skip
        pytest.fail(f"{PG_ENV} is set but PostgreSQL did not answer: {exc}")
    redis = Redis.from_url(redis_url, socket_connect_timeout=3)
    try:
        redis.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"{REDIS_ENV} is set but Redis at {redis_url} did not answer: {exc}")

    database_url = base.set(database=database).render_as_string(hide_password=False)
    courses = root / "courses"
    courses.mkdir()
    write_capstone_course(courses, COURSE)
    shared = root / "shared"  # stands for the shared volume (NFS, EFS, ...) every node mounts
    smtp = SmtpServer(free_port()).start()
    issuer_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    queue = f"skillmark-twonode-{run}"
    env = {
        **clean_environ(),
        "LMS_ENV": "production",
        "LMS_DATABASE_URL": database_url,
        "LMS_REDIS_URL": redis_url,
        "LMS_JOBS_QUEUE": queue,
        "LMS_SECRET_KEY": secrets.token_urlsafe(48),
        "LMS_ISSUER_KEY": issuer_key,
        "LMS_PUBLIC_URL": f"https://{PUBLIC_HOST}",
        "LMS_UPLOADS_DIR": str(shared / "uploads"),
        "LMS_MEDIA_DIR": str(shared / "media"),
        "LMS_COURSES_DIR": str(courses),
        "LMS_PROXY_HOPS": "1",
        "LMS_PASSWORD_HASH": "fast",
        "LMS_MAIL_BACKEND": "smtp",
        "LMS_MAIL_FROM": "Skillmark <no-reply@skillmark.test>",
        "LMS_SMTP_HOST": "127.0.0.1",
        "LMS_SMTP_PORT": str(smtp.port),
        "LMS_SMTP_STARTTLS": "false",
        "LMS_SMTP_TIMEOUT": "5",
        "WEB_CONCURRENCY": "1",
        "LMS_WORKER_TIMEOUT": "60",
    }
    nodes = [Node(name, free_port(), {**env, "LMS_INSTANCE_DIR": str(root / f"instance-{name}")},
                  logs / f"node-{name}.log") for name in ("a", "b")]
    cluster = Cluster(nodes[0], nodes[1], env, create_engine(database_url), redis, queue, smtp, shared, logs, run)
    try:
        flask(nodes[0].env, "db", "upgrade", log=logs / "db-upgrade.log")
        for node in nodes:  # the servers load while the course is synced
            node.start()
        flask(nodes[0].env, "courses", "sync", log=logs / "courses-sync.log")
        for node in nodes:
            node.wait_ready()
        yield cluster
    finally:
        for node in nodes:
            node.stop()
        smtp.stop()
        cluster.engine.dispose()
        try:  # this run's keys only: the queue, its entries, workers, and the throttle counts
            for job_id in redis.lrange(f"rq:queue:{queue}", 0, -1):
                redis.delete(b"rq:job:" + job_id)
            redis.srem("rq:queues", f"rq:queue:{queue}")
            for pattern in (f"*{run}*", *(f"*LIMITER/*/{ip}/*" for ip in cluster.client_ips)):
                for key in redis.scan_iter(pattern):
                    redis.delete(key)
        finally:
            redis.close()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def test_a_session_started_on_one_node_works_on_the_other(cluster):
    a, b = cluster.a, cluster.b
    email = cluster.register(cluster.browser(), a, "session")

    browser = cluster.browser()
    login = cluster.log_in(browser, a, email)  # the real form, its CSRF token from node A
    assert login.status == 302 and login.location.endswith("/dashboard"), login.text[:2000]
    assert "skillmark_session" in browser.cookies
    on_b = browser.get(b, "/dashboard")
    assert on_b.status == 200, on_b.text[:2000]
    assert "Two Nodes Session" in on_b.text
    assert on_b.headers["Cache-Control"] == "private, no-store"
    # A form shown by node B posts to node A: the CSRF token lives in the shared signed session.
    enrolled = browser.post(a, f"/courses/{COURSE}/enroll", {"track": "audit"}, form_page=f"/courses/{COURSE}",
                            form_from=b)
    assert enrolled.status == 302 and f"/courses/{COURSE}/" in enrolled.location
    assert browser.get(a, f"/courses/{COURSE}/capstone").status == 200

    # Logging out on B ends the session on A too: the session is the cookie, which B cleared.
    out = browser.post(b, "/logout", {}, form_page="/courses")
    assert out.status == 302
    after = browser.get(a, "/dashboard")
    assert after.status == 302 and "/login" in after.location


def test_the_login_throttle_counts_across_both_nodes(cluster):
    """5 failed logins per account per 5 minutes (lms/auth/views.py), counted in Redis: attempts
    alternating between the nodes trip it at the 6th in all, not at the 11th (5 per node)."""
    a, b = cluster.a, cluster.b
    email = cluster.register(cluster.browser(), a, "throttled")
    browser = cluster.browser()
    for attempt in range(5):
        node = (a, b)[attempt % 2]
        answer = cluster.log_in(browser, node, email, "not the password at all")
        assert answer.status == 401, f"attempt {attempt + 1} on node {node.name}: {answer.status}"
    for node in (b, a):  # the 6th and 7th: refused on both, even with the right password
        answer = cluster.log_in(browser, node, email)
        assert answer.status == 429, f"node {node.name} answered {answer.status}"
        assert "Too many failed login attempts" in answer.text
        assert 0 < int(answer.headers["Retry-After"]) <= 300
    assert any(cluster.redis.scan_iter(f"*LIMITER/login-account/{email}/*"))  # the count is in Redis


def _mail_jobs(cluster, to: str) -> list:
    with cluster.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, payload, attempts, done_at, failed_at FROM jobs WHERE kind = 'mail.send'"))
        return [row for row in rows if row.payload.get("to") == to]


def _wait_for(condition, timeout: float, what: str, logs) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s: {logs()}")
        time.sleep(0.1)


def test_a_job_queued_by_one_node_runs_once(cluster):
    """A job worker runs on each node (`flask jobs worker`, as deploy/skillmark-worker@.service).
    Registration on node A queues the verification mail (the outbox row, pushed to Redis after the
    commit), and the same id is delivered a second time, so each worker gets one delivery at the same
    moment, while cron's run-due on node B goes for the row in the table: one mail leaves."""
    a, b = cluster.a, cluster.b

    def logs() -> dict:
        return {p.name: p.read_text(errors="replace")[-3000:] for p in cluster.logs.glob("[wr]*-*.log")}

    names = [f"twonode-{cluster.run}-{node.name}" for node in (a, b)]
    workers = [start_flask(node.env, "jobs", "worker", "--name", name, log=cluster.logs / f"worker-{node.name}.log")
               for node, name in zip((a, b), names, strict=True)]
    run_due = None
    try:
        listening = {f"rq:worker:{name}".encode() for name in names}  # what RQ registers per queue
        _wait_for(lambda: cluster.redis.smembers(f"rq:workers:{cluster.queue}") >= listening, 60,
                  "both workers listening", logs)
        browser = cluster.browser()
        email = cluster.register(browser, a, "jobs")
        (job,) = _mail_jobs(cluster, email)
        # A second delivery of the same outbox id (as after a redelivery), under another RQ id.
        Queue(cluster.queue, connection=cluster.redis).enqueue(
            "lms.jobs.queue.run_outbox_job", job.id, job_id=f"redelivered-{job.id}-{cluster.run}", result_ttl=0)
        run_due = start_flask(b.env, "jobs", "run-due", log=cluster.logs / "run-due-b.log")
        assert run_due.wait(timeout=120) == 0, logs()
        _wait_for(lambda: _mail_jobs(cluster, email)[0].done_at is not None, 30, "the mail job done", logs)
        _wait_for(lambda: cluster.redis.llen(f"rq:queue:{cluster.queue}") == 0, 30, "the queue empty", logs)
        time.sleep(1)  # a second copy, had anyone sent one, would be in by now
    finally:
        for process in [*workers, run_due]:
            if process is not None:
                stop_process(process)
    assert [worker.returncode for worker in workers] == [0, 0], logs()  # a warm shutdown

    mails = [m for m in cluster.smtp.inbox.messages if m["To"] == email]
    assert len(mails) == 1, (len(mails), logs())
    (job,) = _mail_jobs(cluster, email)
    assert job.attempts == 1 and job.failed_at is None
    deliveries = "".join((cluster.logs / f"worker-{n}.log").read_text(errors="replace") for n in ("a", "b"))
    assert deliveries.count(f"run_outbox_job({job.id})") >= 2  # both deliveries were taken by a worker

    # The emailed link (signed with the shared secret key by the worker) works on the other node.
    link = re.search(r"https://\S+/verify-email/\S+", mails[0].get_content()).group(0)
    assert link.startswith(f"https://{PUBLIC_HOST}/")
    opened = browser.get(b, path_of(link))
    assert opened.status == 302, opened.text[:2000]
    with cluster.engine.connect() as conn:
        assert conn.scalar(text("SELECT email_verified_at FROM users WHERE email = :e"), {"e": email}) is not None


def test_an_upload_through_one_node_downloads_through_the_other(cluster):
    a, b = cluster.a, cluster.b
    browser = cluster.browser()
    cluster.register(browser, a, "uploader")
    enrolled = browser.post(a, f"/courses/{COURSE}/enroll", {"track": "credential"}, form_page=f"/courses/{COURSE}")
    assert enrolled.status == 302

    # Course media written by `flask courses sync` (run once, on node A's settings) is served by B.
    lesson = browser.get(b, path_of(enrolled.location))
    if lesson.status == 302:
        lesson = browser.get(b, path_of(lesson.location))
    assert lesson.status == 200, lesson.text[:2000]
    media = re.search(r'src="(/media/[0-9a-f]{64}\.svg)"', lesson.text).group(1)
    image = browser.get(b, media)
    assert image.status == 200 and b"<svg" in image.body

    content = f"trip_id,minutes,run\n1,12,{cluster.run}\n".encode() + "2,7,é\n".encode() * 200
    page = f"/courses/{COURSE}/capstone"
    uploaded = browser.post(a, page + "/files", {}, form_page=page,
                            files={"file": ("trips 2026.csv", content, "text/csv")})
    assert uploaded.status == 302 and path_of(uploaded.location).startswith(page), uploaded.text[:2000]

    on_b = browser.get(b, page)
    assert "attached" in on_b.text  # the flash message travelled in the session cookie too
    link = re.search(rf'href="({re.escape(page)}/files/\d+)"', on_b.text).group(1)
    download = browser.get(b, link)
    assert download.status == 200, download.text[:2000]
    assert download.body == content
    assert download.headers["Content-Disposition"].startswith("attachment")

    sha = hashlib.sha256(content).hexdigest()
    assert (cluster.shared / "uploads" / sha[:2] / sha[2:4] / sha).read_bytes() == content
    for node in (a, b):  # nothing of it in a node's own instance folder
        assert not (Path(node.env["LMS_INSTANCE_DIR"]) / "uploads").exists()
        assert not (Path(node.env["LMS_INSTANCE_DIR"]) / "secret_key").exists()


def test_progress_made_through_one_node_shows_on_the_others_cached_dashboard(cluster):
    """Each process keeps learner dashboards rendered (decision 0026); the database's change stamps,
    not a message between nodes, tell node B that a lesson was completed through node A."""
    a, b = cluster.a, cluster.b
    browser = cluster.browser()
    cluster.register(browser, a, "progress")
    enrolled = browser.post(a, f"/courses/{COURSE}/enroll", {"track": "audit"}, form_page=f"/courses/{COURSE}")
    assert enrolled.status == 302
    browser.get(b, "/dashboard")  # (shows and consumes the enrollment's flashed message)
    before = browser.get(b, "/dashboard")
    assert before.status == 200 and "0% done" in before.text, before.text[:2000]
    assert browser.get(b, "/dashboard").text == before.text  # (B serves it again from its cache)

    lesson_path = path_of(enrolled.location)
    lesson = browser.get(a, lesson_path)
    if lesson.status == 302:
        lesson_path = path_of(lesson.location)
        lesson = browser.get(a, lesson_path)
    done_path = re.search(r'action="(/courses/[^"]+/done)"', lesson.text).group(1)
    done = browser.post(a, done_path, {}, form_page=lesson_path)
    assert done.status == 302, done.text[:2000]

    after = browser.get(b, "/dashboard")
    assert after.status == 200 and "0% done" not in after.text and "% done" in after.text, after.text[:2000]
