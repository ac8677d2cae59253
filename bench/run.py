"""`make bench` (``python -m bench``): Skillmark's pages against a bare Flask hello-world.

Both apps run under gunicorn with the same flags (2 sync workers) on free loopback ports. wrk drives
them from this machine, interleaved: in each of three rounds hello-world, the lesson page, the
dashboard of a learner with twenty enrollments, the grader queue (10,000 waiting versions in 50
courses, bench/grading.py), the public page of a credential (anonymous; bench/credentials.py), an
instructor's course dashboard of a course with 10,000 learners and its live list of learners at
risk (bench/instructor.py; the dashboard's snapshot kept fresh, as the background job would),
then the quiz scenario (learners starting and submitting attempts at a quiz of 20 mixed questions,
bench/wrk_quiz.lua), which runs wrk with one
connection per thread and so, when the pages' flags differ, is preceded by hello-world measured
with its flags. Each score is the median over the rounds of the requests/s divided by hello-world's
in the same round, so a machine that is busier in one round than another affects both sides of that
round's ratio alike. The quiz's grading and the issuing of a credential are also timed in-process
(bench.quiz.time_grading, bench.credentials.issue_and_time), and so is the computation of the
10,000-learner course's dashboard figures (bench.instructor.time_compute: what a background
refresh costs). The wrk dashboard is a learner reloading it, which the dashboard cache answers
(decision 0026); bench.dashboard times it in-process both rendered and from the cache.

Exit code 0 whenever the measurement was taken, whether or not the targets were met; 1 when it could
not be (a page answered wrongly, wrk reported errors, a server did not start); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from urllib.parse import quote, urlencode

from bench import client, report
from bench.credentials import issue_and_time
from bench.dashboard import time_dashboard
from bench.data import PrepareError, create_bench_app, prepare
from bench.instructor import SnapshotKeeper, TeachData, prepare_teach
from bench.quiz import LEARNERS_PER_CONNECTION, QUESTIONS, answer_fields, time_grading
from bench.servers import WORKERS, Server, gunicorn_flags
from bench.wrk import QUIZ_SCRIPT, MeasurementError, WrkResult, ensure_wrk, run_wrk

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
HELLO_TEXT = "Hello, World!"
# A measured page whose answers average less than this share of the checked page's size was not
# the page (wrk does not count redirects, e.g. to the login page, as errors).
MIN_SIZE_SHARE = 0.9
TEACH_PAGES = ("teach", "at_risk")  # measured as the instructor of the 10,000-learner course


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw.removesuffix("s"))
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a short run while developing (2 s per run, 1 s warm-up); not for the record")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per wrk run (env BENCH_DURATION; default 8, or 2 with --quick)")
    parser.add_argument("--connections", type=int, default=None,
                        help="open connections (env BENCH_CONNECTIONS; default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results file (default {RESULTS})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance folder and server logs")
    args = parser.parse_args(argv)
    if args.duration is None:
        args.duration = 2.0 if args.quick else _env_number("BENCH_DURATION", 8)
    if args.connections is None:
        args.connections = int(_env_number("BENCH_CONNECTIONS", 8))
    args.warmup = 1.0 if args.quick else 2.0
    if args.duration <= 0 or args.connections < 1 or args.rounds < 1:
        parser.error("duration, connections and rounds must be positive")
    return args


def _wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else "unknown"


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # a killed bench still stops its servers
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="skillmark-bench-"))
    servers: list[Server] = []
    try:
        print(f"Preparing data in {workdir / 'instance'} ...", flush=True)
        data = prepare(workdir / "instance", quiz_learners=quiz_learners_needed(args))
        grading = grade_in_process(data)
        credentials = issue_in_process(data)
        teach = teach_in_process(data)
        dashboard = dashboard_in_process(data)
        app = Server("skillmark", "wsgi:app", data.server_environment(secrets.token_urlsafe(48)),
                     workdir / "skillmark-gunicorn.log")
        hello = Server("hello-world", "bench.hello:app", {}, workdir / "hello-gunicorn.log")
        servers += [app, hello]
        for server in servers:
            server.start()
        print(f"Servers: skillmark on {app.base_url}, hello-world on {hello.base_url}", flush=True)
        return measure(args, wrk, data, app, hello, grading, credentials, teach, dashboard)
    except (PrepareError, client.CheckError, MeasurementError, RuntimeError) as exc:
        print(f"\nbench: could not take the measurement: {exc}", file=sys.stderr)
        for server in servers:
            if server.log_path.exists() and server.log_path.stat().st_size:
                print(f"--- {server.name} server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping the servers", file=sys.stderr)
        return 130
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def quiz_learners_needed(args: argparse.Namespace) -> int:
    """One learner for the quiz checks, then fresh ones for every wrk run (the warm-up and each round)."""
    return 1 + args.connections * LEARNERS_PER_CONNECTION * (args.rounds + 1)


def grade_in_process(data) -> dict:
    """The median time of grading an attempt of the bench quiz, in this process (before the servers start)."""
    from lms.db import get_engine  # noqa: PLC0415

    print(f"Timing the grading of {len(data.quiz.question_ids)}-question quiz attempts in-process ...", flush=True)
    app = create_bench_app(data)
    try:
        grading = time_grading(app, data.quiz)
    finally:
        get_engine(app).dispose()
    return {"questions": len(data.quiz.question_ids), **grading.to_dict()}


def dashboard_in_process(data) -> dict:
    """CPU time of the learner dashboard rendered and served from its cache, in this process (bench.dashboard)."""
    from lms.db import get_engine  # noqa: PLC0415

    print("Timing the learner dashboard rendered and from its cache in-process ...", flush=True)
    app = create_bench_app(data)
    try:
        return time_dashboard(app, data)
    finally:
        get_engine(app).dispose()


def issue_in_process(data) -> dict:
    """Credentials earned by grading queue submissions; the median time of issuing one (bench.credentials)."""
    from lms.db import get_engine  # noqa: PLC0415

    print("Grading capstones and timing the issuing of their credentials in-process ...", flush=True)
    app = create_bench_app(data)
    try:
        return issue_and_time(app).to_dict()
    finally:
        get_engine(app).dispose()


def teach_in_process(data) -> TeachData:
    """The 10,000-learner course, its instructor and snapshot; the time of computing its figures."""
    print("Preparing a course with 10,000 learners for the course dashboard and timing its figures ...", flush=True)
    try:
        teach = prepare_teach(data)
    except RuntimeError as exc:
        raise PrepareError(str(exc)) from None
    print(f"  prepared in {teach.prepare_s:.1f} s ({teach.completions:,} completions, {teach.quiz_attempts:,} quiz "
          f"attempts, {teach.submissions} capstones, {teach.credentials} credentials, {teach.at_risk:,} at risk); "
          f"figures computed in {teach.compute_ms['median']:.1f} ms (median of {teach.compute_ms['runs']})",
          flush=True)
    return teach


class QuizLoad:
    """The quiz scenario's wrk runs: each takes the next fresh slice of logged-in learners."""

    def __init__(self, base_url: str, data, connections: int, runs: int):
        self.quiz = data.quiz
        self.connections = connections
        self.per_run = connections * LEARNERS_PER_CONNECTION
        self.answers = answer_fields(self.quiz)
        needed = 1 + self.per_run * runs  # as quiz_learners_needed()
        if len(self.quiz.learners) < needed:
            raise client.CheckError(f"the data has {len(self.quiz.learners)} quiz learners, {needed} are needed")

        def log_in(learner: tuple[str, str]) -> client.QuizLearner:
            email, name = learner
            return client.quiz_learner(base_url, self.quiz.path, email, data.password, name)

        with ThreadPoolExecutor(max_workers=4) as pool:
            self.learners = list(pool.map(log_in, self.quiz.learners[:needed]))
        self.checker, self.fresh = self.learners[0], iter(range(runs))

    def script_args(self) -> list[str]:
        """wrk_quiz.lua's arguments for the next run, with its own learners."""
        run = next(self.fresh, None)
        if run is None:
            raise MeasurementError("the quiz scenario ran more often than it has fresh learners for")
        args = [self.quiz.path, urlencode(self.answers), str(self.connections)]
        for learner in self.learners[1 + run * self.per_run:1 + (run + 1) * self.per_run]:
            args += [f"{client.SESSION_COOKIE}={learner.cookie}", quote(learner.csrf_token, safe="")]
        return args

    def check(self, base_url: str) -> dict:
        return client.check_quiz_cycle(base_url, self.quiz.path, self.checker, self.answers)


def measure(args: argparse.Namespace, wrk: str, data, app: Server, hello: Server, grading: dict,
            credentials: dict, teach: TeachData, dashboard: dict) -> int:
    """Log in, check every URL, warm up, run the rounds, then print and save the results."""
    keeper = SnapshotKeeper(data, teach)
    try:
        return _measure(args, wrk, data, app, hello, grading, credentials, teach, dashboard, keeper)
    finally:
        keeper.close()


def _measure(args: argparse.Namespace, wrk: str, data, app: Server, hello: Server, grading: dict,
             credentials: dict, teach: TeachData, dashboard: dict, keeper: SnapshotKeeper) -> int:
    cookie = client.login(app.base_url, data.email, data.password)
    headers = {"Cookie": f"{client.SESSION_COOKIE}={cookie}", "User-Agent": client.USER_AGENT}
    # The grader queue is measured as its grader (of 50 courses, 10,000 versions waiting).
    grader_cookie = client.login(app.base_url, data.queue.grader_email, data.password)
    page_headers = {"grading": {"Cookie": f"{client.SESSION_COOKIE}={grader_cookie}",
                                "User-Agent": client.USER_AGENT}}
    # The credential's public page is measured as an employer sees it: anonymous, no cookie.
    page_headers["credential"] = {"User-Agent": client.USER_AGENT}
    # The course dashboard and the learners at risk are measured as the course's instructor.
    instructor_cookie = client.login(app.base_url, teach.instructor_email, data.password)
    for page in TEACH_PAGES:
        page_headers[page] = {"Cookie": f"{client.SESSION_COOKIE}={instructor_cookie}", "User-Agent": client.USER_AGENT}
    viewers = {"grading": (grader_cookie, data.queue.grader_name), "credential": (None, credentials["holder"]),
               **{page: (instructor_cookie, teach.instructor_name) for page in TEACH_PAGES}}
    pages = {"hello": (hello.base_url, "/"), "lesson": (app.base_url, data.lesson_path),
             "dashboard": (app.base_url, data.dashboard_path), "grading": (app.base_url, data.queue.path),
             "credential": (app.base_url, credentials["path"]), "teach": (app.base_url, teach.path),
             "at_risk": (app.base_url, teach.at_risk_path)}
    keeper.ensure_fresh(0)
    expected_bytes = check_pages(pages, cookie, data.name, viewers)
    # The quiz runs one wrk thread per connection (see wrk_quiz.lua); hello-world again with those
    # flags when the pages' differ, as the quiz's baseline.
    quiz_threads = args.connections
    if min(args.threads, args.connections) != quiz_threads:
        pages[report.QUIZ_BASELINE] = (hello.base_url, "/")
        expected_bytes[report.QUIZ_BASELINE] = expected_bytes["hello"]
    pages["quiz"] = (app.base_url, data.quiz.path)
    print(f"Logging in {quiz_learners_needed(args)} quiz learners ...", flush=True)
    quiz = QuizLoad(app.base_url, data, args.connections, runs=args.rounds + 1)
    quiz_check = quiz.check(app.base_url)

    servers = {"hello": hello, "lesson": app, "dashboard": app, "grading": app, "credential": app,
               "teach": app, "at_risk": app, report.QUIZ_BASELINE: hello,
               "quiz": app}

    def load(page: str, duration_s: float) -> WrkResult:
        base_url, path = pages[page]
        if page == "teach":
            keeper.ensure_fresh(duration_s)  # (outside the measurement, like the background job)
        cpu_before = servers[page].cpu_seconds()
        if page == "quiz":
            result = run_wrk(wrk, base_url + path, duration_s=duration_s, connections=args.connections,
                             threads=quiz_threads, headers={"User-Agent": client.USER_AGENT},
                             script=QUIZ_SCRIPT, script_args=quiz.script_args())
        else:
            result = run_wrk(wrk, base_url + path, duration_s=duration_s, connections=args.connections,
                             threads=quiz_threads if page == report.QUIZ_BASELINE else args.threads,
                             headers=page_headers.get(page, headers))
        cpu_after = servers[page].cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            result = replace(result, server_cpu_ms_per_request=(cpu_after - cpu_before) * 1000 / result.requests)
        if page == "quiz":
            return result  # answers are redirects, each checked by wrk_quiz.lua
        if result.bytes_per_response < MIN_SIZE_SHARE * expected_bytes[page]:
            raise MeasurementError(
                f"{path}: answers averaged {result.bytes_per_response:.0f} bytes, but the checked page has "
                f"{expected_bytes[page]} bytes: some answers were not the page (redirects to /login?)")
        return result

    started, load_before = datetime.now(UTC), os.getloadavg()[0]
    print(f"Warm-up: {args.warmup:g}s per URL", flush=True)
    warmup = {page: load(page, args.warmup) for page in pages}
    rounds: list[dict[str, WrkResult]] = []
    for number in range(1, args.rounds + 1):
        results = {}
        for page in pages:
            results[page] = result = load(page, args.duration)
            print(f"  round {number}/{args.rounds}  {report.LABELS[page]:<18} {result.requests_per_s:8.1f} req/s"
                  f"  p50 {result.latency_ms['p50']:6.2f} ms  p99 {result.latency_ms['p99']:6.2f} ms", flush=True)
        rounds.append(results)
    check_pages({p: v for p, v in pages.items() if p != "quiz"}, cookie, data.name, viewers)  # still the same pages
    quiz_check_after = quiz.check(app.base_url)  # and the quiz still starts, submits and shows a score
    stale = keeper.stale_views()
    if stale:
        raise MeasurementError(f"{teach.path} found its snapshot stale during the run ({stale} refresh job(s) queued): "
                               "the measurement is of the 'updating' page, not the one instructors get")

    config = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "gunicorn": " ".join(gunicorn_flags(0)).replace(":0 ", ":PORT "), "workers": WORKERS,
        "duration_s": args.duration, "warmup_s": args.warmup, "connections": args.connections,
        "threads": min(args.threads, args.connections), "rounds": args.rounds, "quick": args.quick,
        "cpus": os.cpu_count(), "load_average_before": round(load_before, 2),
        "load_average_after": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "flask": version("flask"), "gunicorn_version": version("gunicorn"),
        "wrk": _wrk_version(wrk),
        "urls": {page: path for page, (_base, path) in pages.items()},
        "learner": {"name": data.name, "enrollments": len(data.course_slugs), "completed": data.completed},
        "credentials": credentials,
        "dashboard_in_process": dashboard,
        "course_dashboard": {**teach.to_dict(), "snapshot_refreshes_during_run": keeper.refreshes},
        "grader_queue": {"path": data.queue.path, "courses": data.queue.courses,
                         "waiting_submissions": data.queue.submissions},
        "quiz": {
            "path": data.quiz.path, "questions": len(QUESTIONS), "types": data.quiz.types,
            "threads": quiz_threads, "connections": args.connections,
            "learners_per_run": quiz.per_run, "learners_per_connection": LEARNERS_PER_CONNECTION,
            "answer_fields": len(quiz.answers), "check_before": quiz_check, "check_after": quiz_check_after,
        },
    }
    summary = report.summarize(rounds)
    cycles = [(r["quiz"].details or {}).get("cycles", 0) for r in rounds]
    summary["quiz"]["cycles_per_round"] = cycles
    summary["quiz"]["attempts_per_learner_per_round"] = [round(c / quiz.per_run, 1) for c in cycles]
    print()
    print(report.format_table(summary, config, grading))
    report.write_json(args.output, config, rounds, summary, warmup, grading)
    print(f"\nFull results: {args.output}")
    return 0


def check_pages(pages: dict[str, tuple[str, str]], cookie: str, name: str,
                viewers: dict[str, tuple[str, str]] | None = None) -> dict[str, int]:
    """Each URL answers 200 with the viewer's name (the learner's, or the page's own viewer's from
    ``viewers``: page -> (cookie, name)); hello-world with its text. Returns the body sizes."""
    sizes = {}
    for page, (base_url, path) in pages.items():
        if page in report.BASELINES:
            response = client.request(base_url, "GET", path)
            if response.status != 200 or response.text != HELLO_TEXT:
                raise client.CheckError(f"hello-world answered {response.status} {response.text[:80]!r}")
        else:
            page_cookie, page_name = (viewers or {}).get(page, (cookie, name))
            response = client.check_page(base_url, path, page_cookie, page_name)
            if client.sets_session_cookie(response):
                print(f"note: {path} rewrites the session cookie on every request", flush=True)
        sizes[page] = len(response.body)
    return sizes


if __name__ == "__main__":
    sys.exit(main())
