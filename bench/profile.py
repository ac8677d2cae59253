"""`python -m bench.profile`: where the time of one measured page goes, without gunicorn or wrk.

Builds the same data as `make bench` in a temporary folder, runs the app in this process in
production mode (Flask's test client), and for each page prints the SQL statements of one request,
the mean time per request next to hello-world's, and the functions that cost most under cProfile.
The pages include the course dashboard of the 10,000-learner course and its at-risk list
(bench/instructor.py), as its instructor. The quiz scenario (``--scenario quiz``) is profiled the
same way: a start and a submit of the bench quiz's 20 questions, rotating over as many learners as
one `make bench` run uses.
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

from bench.client import USER_AGENT, csrf_token, log_in_test_client
from bench.credentials import issue_and_time
from bench.data import create_bench_app, prepare
from bench.instructor import prepare_teach
from bench.quiz import LEARNERS_PER_CONNECTION, answer_fields

# As many quiz learners as one wrk run of `make bench` uses at its default 8 connections.
QUIZ_LEARNERS_PER_RUN = 8 * LEARNERS_PER_CONNECTION


def _print_profile(profiler: cProfile.Profile, top: int, callees: list[str] | None = None) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    for pattern in callees or ():
        stats.print_callees(pattern)
    print(out.getvalue())


def _time_per_request(get, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        get()
    return (time.perf_counter() - start) / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per page to time and profile")
    parser.add_argument("--top", type=int, default=25, help="functions to list per page")
    parser.add_argument("--scenario", choices=("all", "pages", "quiz"), default="all",
                        help="the pages (lesson, dashboard, grader queue, credential page, course dashboard, "
                             "at-risk list), the quiz start+submit, or both (default)")
    parser.add_argument("--callees", action="append", metavar="PATTERN",
                        help="also list what the functions matching PATTERN (a regular expression) call; repeatable")
    args = parser.parse_args(argv)

    from sqlalchemy import event  # noqa: PLC0415

    from bench.hello import app as hello_app  # noqa: PLC0415
    from lms.db import get_engine  # noqa: PLC0415

    workdir = Path(tempfile.mkdtemp(prefix="skillmark-profile-"))
    try:
        data = prepare(workdir / "instance", quiz_learners=QUIZ_LEARNERS_PER_RUN)
        teach = prepare_teach(data) if args.scenario in ("all", "pages") else None
        app = create_bench_app(data)
        statements: list[str] = []
        event.listen(get_engine(app), "before_cursor_execute",
                     lambda _conn, _cursor, sql, *_rest: statements.append(" ".join(sql.split())))
        test_client = app.test_client()
        test_client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        log_in_test_client(test_client, data.email, data.password)
        hello_client = hello_app.test_client()
        hello_s = _time_per_request(lambda: hello_client.get("/"), args.requests)
        print(f"hello-world: {hello_s * 1e3:.3f} ms per request in-process\n")
        grader_client = app.test_client()
        grader_client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        log_in_test_client(grader_client, data.queue.grader_email, data.password)
        credential = issue_and_time(app, count=1)
        visitor = app.test_client()  # the credential page is measured as an employer sees it: no login
        visitor.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        pages = [("lesson page", data.lesson_path, test_client, data.name),
                 ("dashboard", data.dashboard_path, test_client, data.name),
                 ("grader queue", data.queue.path, grader_client, data.queue.grader_name),
                 ("credential page", credential.path, visitor, credential.holder_name)]
        if teach is not None:
            instructor = app.test_client()
            instructor.environ_base["HTTP_USER_AGENT"] = USER_AGENT
            log_in_test_client(instructor, teach.instructor_email, data.password)
            pages += [("course dashboard", teach.path, instructor, teach.instructor_name),
                      ("at-risk list", teach.at_risk_path, instructor, teach.instructor_name)]
        for label, path, client, viewer in pages if args.scenario in ("all", "pages") else ():
            response = client.get(path)  # warms caches; also the request whose SQL is shown
            if response.status_code != 200 or viewer not in response.get_data(as_text=True):
                raise SystemExit(f"{path} answered {response.status_code} without {viewer}'s name")
            statements.clear()
            client.get(path)
            print(f"== {label} {path}: {len(statements)} SQL statement(s) per request")
            for sql in statements:
                print(f"   {sql[:160]}")
            per_request = _time_per_request(lambda p=path, c=client: c.get(p), args.requests)
            print(f"   {per_request * 1e3:.3f} ms per request in-process "
                  f"({hello_s / per_request:.3f} of hello-world's rate)")
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                client.get(path)
            profiler.disable()
            _print_profile(profiler, args.top, args.callees)
        if args.scenario in ("all", "quiz"):
            _profile_quiz(app, data, statements, hello_s, args)
        get_engine(app).dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _profile_quiz(app, data, statements: list[str], hello_s: float, args) -> None:
    """Start and submit the bench quiz as the wrk scenario does, rotating over its learners."""
    from werkzeug.datastructures import MultiDict  # noqa: PLC0415

    quiz = data.quiz
    answers = answer_fields(quiz)
    learners = []
    for email, _name in quiz.learners:
        test_client = app.test_client()
        test_client.environ_base["HTTP_USER_AGENT"] = USER_AGENT
        log_in_test_client(test_client, email, data.password)
        token = csrf_token(test_client.get(quiz.path).get_data(as_text=True), quiz.path)
        learners.append((test_client, token))
    turn = iter(range(10**9))

    def start(test_client, token) -> str:
        response = test_client.post(f"{quiz.path}/attempts", data={"csrf_token": token})
        if response.status_code != 302 or "/attempts/" not in response.headers.get("Location", ""):
            raise SystemExit(f"starting the quiz answered {response.status_code} {response.headers.get('Location')}")
        return response.headers["Location"]

    def submit(test_client, token, location: str) -> None:
        response = test_client.post(location, data=MultiDict([("csrf_token", token), ("action", "submit"), *answers]))
        if response.status_code != 302 or not response.headers.get("Location", "").endswith(location):
            raise SystemExit(f"submitting {location} answered {response.status_code}")

    def cycle() -> tuple[float, float]:
        test_client, token = learners[next(turn) % len(learners)]
        began = time.perf_counter()
        location = start(test_client, token)
        middle = time.perf_counter()
        submit(test_client, token, location)
        return middle - began, time.perf_counter() - middle

    cycle()  # warms caches
    statements.clear()
    test_client, token = learners[next(turn) % len(learners)]
    location = start(test_client, token)
    start_sql, statements[:] = list(statements), []
    submit(test_client, token, location)
    submit_sql = list(statements)
    for label, sql_list in (("quiz start", start_sql), ("quiz submit", submit_sql)):
        print(f"== {label} {quiz.path}/attempts{'' if label.endswith('start') else '/<n>'}: "
              f"{len(sql_list)} SQL statement(s) per request")
        for sql in sql_list:
            print(f"   {sql[:160]}")
    cycles = max(1, args.requests // 2)
    times = [cycle() for _ in range(cycles)]
    start_s = sum(t[0] for t in times) / cycles
    submit_s = sum(t[1] for t in times) / cycles
    per_request = (start_s + submit_s) / 2
    print(f"   start {start_s * 1e3:.3f} ms, submit {submit_s * 1e3:.3f} ms in-process; {per_request * 1e3:.3f} ms "
          f"per request ({hello_s / per_request:.3f} of hello-world's rate); {len(learners)} learners in turn")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(cycles):
        cycle()
    profiler.disable()
    _print_profile(profiler, args.top, args.callees)


if __name__ == "__main__":
    raise SystemExit(main())
