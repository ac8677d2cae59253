"""`python -m bench.profile`: where the time of one measured page goes, without gunicorn or wrk.

Builds the same data as `make bench` in a temporary folder, runs the app in this process in
production mode (Flask's test client), and for each page prints the SQL statements of one request,
the mean time per request next to hello-world's, and the functions that cost most under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import tempfile
import time
from pathlib import Path

from bench.client import SESSION_COOKIE, USER_AGENT, csrf_token
from bench.data import prepare


def _make_app(data):
    import secrets  # noqa: PLC0415

    from lms import create_app  # noqa: PLC0415
    from lms.config import load_settings  # noqa: PLC0415

    env = data.server_environment(secrets.token_urlsafe(32))
    settings = load_settings({
        "env": env["LMS_ENV"], "instance_dir": data.instance_dir, "database_url": data.database_url,
        "courses_dir": data.courses_dir, "secret_key": env["LMS_SECRET_KEY"], "password_hash": "fast",
        "log_level": "WARNING",
    })
    return create_app(settings)


def _login(test_client, data) -> None:
    page = test_client.get("/login")
    answer = test_client.post("/login", data={"email": data.email, "password": data.password,
                                              "csrf_token": csrf_token(page.get_data(as_text=True))})
    if answer.status_code != 302 or test_client.get_cookie(SESSION_COOKIE) is None:
        raise SystemExit(f"login failed: {answer.status_code}")


def _time_per_request(get, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        get()
    return (time.perf_counter() - start) / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per page to time and profile")
    parser.add_argument("--top", type=int, default=25, help="functions to list per page")
    args = parser.parse_args(argv)

    from sqlalchemy import event  # noqa: PLC0415

    from bench.hello import app as hello_app  # noqa: PLC0415
    from lms.db import get_engine  # noqa: PLC0415

    workdir = Path(tempfile.mkdtemp(prefix="skillmark-profile-"))
    try:
        data = prepare(workdir / "instance")
        app = _make_app(data)
        statements: list[str] = []
        event.listen(get_engine(app), "before_cursor_execute",
                     lambda _conn, _cursor, sql, *_rest: statements.append(" ".join(sql.split())))
        test_client = app.test_client()
        test_client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        _login(test_client, data)
        hello_client = hello_app.test_client()
        hello_s = _time_per_request(lambda: hello_client.get("/"), args.requests)
        print(f"hello-world: {hello_s * 1e3:.3f} ms per request in-process\n")
        for label, path in (("lesson page", data.lesson_path), ("dashboard", data.dashboard_path)):
            response = test_client.get(path)  # warms caches; also the request whose SQL is shown
            if response.status_code != 200 or data.name not in response.get_data(as_text=True):
                raise SystemExit(f"{path} answered {response.status_code} without the learner's name")
            statements.clear()
            test_client.get(path)
            print(f"== {label} {path}: {len(statements)} SQL statement(s) per request")
            for sql in statements:
                print(f"   {sql[:160]}")
            per_request = _time_per_request(lambda p=path: test_client.get(p), args.requests)
            print(f"   {per_request * 1e3:.3f} ms per request in-process "
                  f"({hello_s / per_request:.3f} of hello-world's rate)")
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                test_client.get(path)
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
        get_engine(app).dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
