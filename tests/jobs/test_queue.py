"""With Redis: committed jobs are pushed to an RQ queue and a real RQ worker (against the local
Redis) runs each once; rolled-back jobs are never pushed; Redis down loses nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import select

from lms import create_app
from lms.db import get_engine, utcnow
from lms.jobs import enqueue, enqueue_many, queue
from lms.jobs.models import Job
from tests.conftest import _empty_all_tables, make_settings
from tests.jobs.test_services import CALLS, _clean_calls  # noqa: F401 - the handlers and their log


@pytest.fixture
def queued_app(tmp_path, database_url, redis_url):
    """An app with Redis and no inline running, on a queue of its own (test workers share the Redis)."""
    name = f"test-jobs-{uuid.uuid4().hex}"
    app = create_app(make_settings(tmp_path, database_url, redis_url=redis_url, jobs_inline=False, jobs_queue=name))
    yield app
    _empty_all_tables(get_engine(app))
    get_engine(app).dispose()
    redis = Redis.from_url(redis_url)
    for key in redis.scan_iter(f"rq:*{name}*"):
        redis.delete(key)


def _queued(app) -> int:
    return len(queue.queue_for(app.extensions["lms.redis"], app.config["LMS_SETTINGS"].jobs_queue))


def _session(app):
    return app.extensions["lms.sessionmaker"]()


def _work(app) -> None:
    queue.make_worker(app).work(burst=True)


def _records() -> list[int]:
    return [job_id for name, job_id, _ in CALLS if name == "record"]


def test_a_committed_job_is_pushed_and_a_real_worker_runs_it_once(queued_app):
    with _session(queued_app) as db:
        job = enqueue(db, "test.record", {"n": 1})
        assert _queued(queued_app) == 0  # not before the commit
        db.commit()
        job_id = job.id
    assert _queued(queued_app) == 1
    _work(queued_app)
    assert _records() == [job_id] and _queued(queued_app) == 0
    with _session(queued_app) as db:
        assert db.get(Job, job_id).done_at is not None
    # The same id pushed again (a duplicate delivery) is claimed by nobody: it ran once.
    queue.push(queue.queue_for(queued_app.extensions["lms.redis"], queued_app.config["LMS_SETTINGS"].jobs_queue),
               [job_id])
    _work(queued_app)
    assert _records() == [job_id]


def test_a_rolled_back_transaction_pushes_nothing(queued_app):
    with _session(queued_app) as db:
        enqueue(db, "test.record", {"n": 1})
        enqueue_many(db, "test.record", [{"n": 2}, {"n": 3}])  # INSERT ... RETURNING
        db.flush()
        db.rollback()
        assert _queued(queued_app) == 0
        # A later commit in the same session pushes only its own job.
        kept = enqueue(db, "test.record", {"n": 4})
        db.commit()
        kept_id = kept.id
    assert _queued(queued_app) == 1
    _work(queued_app)
    assert _records() == [kept_id]
    with _session(queued_app) as db:
        assert db.scalars(select(Job.id).where(Job.kind == "test.record")).all() == [kept_id]


def test_a_delayed_job_is_left_to_cron(queued_app):
    with _session(queued_app) as db:
        enqueue(db, "test.record", {"n": 1}, run_after=utcnow() + timedelta(hours=1))
        db.commit()
    assert _queued(queued_app) == 0


def test_a_request_pushes_its_jobs_after_commit(queued_app):
    """Registration queues its verification mail: pushed once the request committed, run by the worker."""
    client = queued_app.test_client()
    from tests.conftest import CSRF_INPUT, PASSWORD

    page = client.get("/register").get_data(as_text=True)
    token = CSRF_INPUT.search(page).group(1)
    answer = client.post("/register", data={"csrf_token": token, "name": "Queue Learner",
                                            "email": "queued@example.com", "password": PASSWORD,
                                            "confirm": PASSWORD})
    assert answer.status_code in (302, 303)
    assert _queued(queued_app) >= 1
    _work(queued_app)
    with _session(queued_app) as db:
        open_jobs = db.scalars(select(Job).where(Job.done_at.is_(None), Job.failed_at.is_(None))).all()
        assert [job.kind for job in open_jobs if job.run_after <= utcnow()] == []


def test_redis_down_at_commit_loses_nothing(tmp_path, database_url, caplog):
    app = create_app(make_settings(tmp_path, database_url, redis_url="redis://127.0.0.1:1/0", jobs_inline=False))
    try:
        with app.extensions["lms.sessionmaker"]() as db:
            job = enqueue(db, "test.record", {"n": 1})
            db.commit()  # the push fails after the commit: logged, not raised
            job_id = job.id
            assert db.get(Job, job_id).done_at is None  # waiting for cron's run-due
        assert "cron's run-due will run them" in caplog.text
    finally:
        _empty_all_tables(get_engine(app))
        get_engine(app).dispose()


def test_the_worker_command_explains_a_missing_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 2 and "LMS_REDIS_URL is not set" in result.output


def test_two_sites_sharing_a_redis_do_not_replace_each_others_entries(redis_url):
    """Each site numbers its outbox from 1: the RQ entries are named after the queue too."""
    redis = Redis.from_url(redis_url)
    names = [f"site-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        for name in names:
            queue.push(queue.queue_for(redis, name), [1])
        entries = {name: queue.queue_for(redis, name).job_ids for name in names}
        assert all(len(ids) == 1 for ids in entries.values())
        assert entries[names[0]] != entries[names[1]]
    finally:
        for name in names:
            queue.queue_for(redis, name).empty()
        redis.close()
