"""Jobs in the app: run inline after a request that committed, and the `flask jobs` commands."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import select

from lms import create_app
from lms.db import get_db, get_engine
from lms.errors import Conflict
from lms.jobs import enqueue
from lms.jobs.models import Job
from lms.security import access
from tests.conftest import make_settings
from tests.jobs.test_services import CALLS, _clean_calls  # noqa: F401 - the handlers and their log


def _add_test_routes(app) -> None:
    bp = Blueprint("jobs_test", __name__)

    @bp.route("/_test/commit")
    @access("public")
    def commit():
        db = get_db()
        enqueue(db, "test.record", {"from": "commit"})
        db.commit()
        return "ok"

    @bp.route("/_test/rollback")
    @access("public")
    def rollback():
        db = get_db()
        enqueue(db, "test.record", {"from": "rollback"})
        db.flush()
        db.rollback()  # e.g. a form error after the service ran
        return "nothing happened"

    @bp.route("/_test/refused")
    @access("public")
    def refused():
        db = get_db()
        enqueue(db, "test.record", {"from": "refused"})
        db.flush()  # the service ran, then a business rule said no: the view never commits
        raise Conflict("That already happened.")

    @bp.route("/_test/crash-after-commit")
    @access("public")
    def crash():
        db = get_db()
        enqueue(db, "test.record", {"from": "crash"})
        db.commit()
        raise RuntimeError("the response failed after the commit")

    app.register_blueprint(bp)


def _jobs(db) -> list[Job]:
    db.expire_all()
    return list(db.scalars(select(Job).where(Job.kind == "test.record").order_by(Job.id)))


def test_a_committed_requests_jobs_run_right_after_it(app, db):
    _add_test_routes(app)
    assert app.test_client().get("/_test/commit").status_code == 200
    [job] = _jobs(db)
    assert job.done_at is not None and [c[1] for c in CALLS] == [job.id]


def test_a_rolled_back_requests_jobs_never_exist(app, db):
    _add_test_routes(app)
    assert app.test_client().get("/_test/rollback").status_code == 200
    assert _jobs(db) == [] and CALLS == []


def test_a_refused_requests_uncommitted_jobs_never_run(app, db, caplog):
    _add_test_routes(app)
    assert app.test_client().get("/_test/refused").status_code == 409
    assert _jobs(db) == [] and CALLS == []
    assert "running jobs after the request failed" not in caplog.text  # nor did the runner wait on a lock


def test_what_a_request_committed_before_an_error_page_is_still_delivered(app, db):
    # The commit is what counts: the change happened, so its mail goes out.
    _add_test_routes(app)
    assert app.test_client().get("/_test/crash-after-commit").status_code == 500
    [job] = _jobs(db)
    assert job.done_at is not None and [c[1] for c in CALLS] == [job.id]


def test_without_inline_jobs_wait_for_run_due(app, db, tmp_path, database_url):
    production_like = create_app(make_settings(tmp_path, database_url, jobs_inline=False))
    _add_test_routes(production_like)
    production_like.test_client().get("/_test/commit")
    [job] = _jobs(db)
    assert job.done_at is None
    result = production_like.test_cli_runner().invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert f"job {job.id} test.record (attempt 1): done" in result.output
    assert _jobs(db)[0].done_at is not None
    get_engine(production_like).dispose()


def test_cli_run_due_reports_failures_and_exits_zero(app, db):
    job = enqueue(db, "test.always_fails", {})
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs", "run-due"])
    assert result.exit_code == 0, result.output
    assert f"job {job.id} test.always_fails (attempt 1): failed, retry after" in result.output
    assert "RuntimeError: broken on attempt 1" in result.output

    listed = runner.invoke(args=["jobs", "list"])
    assert f"{job.id}\ttest.always_fails\t1/4" in listed.output
    stored = db.get(Job, job.id)
    stored.attempts, stored.failed_at = 4, stored.run_after
    db.commit()
    failed = runner.invoke(args=["jobs", "list", "--failed"])
    assert f"{job.id}\ttest.always_fails\t4/4" in failed.output and "broken on attempt 1" in failed.output

    assert runner.invoke(args=["jobs", "retry", str(job.id)]).exit_code == 0
    assert runner.invoke(args=["jobs", "retry", str(job.id)]).exit_code == 1  # not failed any more
    db.expire_all()
    assert db.get(Job, job.id).state == "open"


def test_cli_run_due_exits_non_zero_when_the_database_is_unreachable(tmp_path):
    broken = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/missing/dir/x.db"))
    result = broken.test_cli_runner().invoke(args=["jobs", "run-due"])
    assert result.exit_code == 2
    assert "the database did not answer" in result.output
