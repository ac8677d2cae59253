"""`make bench` (``python -m bench``): Skillmark's pages against a bare Flask hello-world.

Both apps run under gunicorn with the same flags (2 sync workers) on free loopback ports. wrk drives
them from this machine, interleaved: in each of three rounds hello-world, the lesson page, then the
dashboard of a learner with ten enrollments. Each page's score is the median over the rounds of its
requests/s divided by hello-world's in the same round, so a machine that is busier in one round than
another affects both sides of that round's ratio alike.

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
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench import client, report
from bench.data import PrepareError, prepare
from bench.servers import WORKERS, Server, gunicorn_flags
from bench.wrk import MeasurementError, WrkResult, ensure_wrk, run_wrk

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
HELLO_TEXT = "Hello, World!"
# A measured page whose answers average less than this share of the checked page's size was not
# the page (wrk does not count redirects, e.g. to the login page, as errors).
MIN_SIZE_SHARE = 0.9


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
        data = prepare(workdir / "instance")
        app = Server("skillmark", "wsgi:app", data.server_environment(secrets.token_urlsafe(48)),
                     workdir / "skillmark-gunicorn.log")
        hello = Server("hello-world", "bench.hello:app", {}, workdir / "hello-gunicorn.log")
        servers += [app, hello]
        for server in servers:
            server.start()
        print(f"Servers: skillmark on {app.base_url}, hello-world on {hello.base_url}", flush=True)
        return measure(args, wrk, data, app, hello)
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


def measure(args: argparse.Namespace, wrk: str, data, app: Server, hello: Server) -> int:
    """Log in, check every URL, warm up, run the rounds, then print and save the results."""
    cookie = client.login(app.base_url, data.email, data.password)
    headers = {"Cookie": f"{client.SESSION_COOKIE}={cookie}", "User-Agent": client.USER_AGENT}
    pages = {"hello": (hello.base_url, "/"), "lesson": (app.base_url, data.lesson_path),
             "dashboard": (app.base_url, data.dashboard_path)}
    expected_bytes = check_pages(pages, cookie, data.name)

    servers = {"hello": hello, "lesson": app, "dashboard": app}

    def load(page: str, duration_s: float) -> WrkResult:
        base_url, path = pages[page]
        cpu_before = servers[page].cpu_seconds()
        result = run_wrk(wrk, base_url + path, duration_s=duration_s, connections=args.connections,
                         threads=args.threads, headers=headers)
        cpu_after = servers[page].cpu_seconds()
        if cpu_before is not None and cpu_after is not None:
            result = replace(result, server_cpu_ms_per_request=(cpu_after - cpu_before) * 1000 / result.requests)
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
            print(f"  round {number}/{args.rounds}  {report.LABELS[page]:<12} {result.requests_per_s:8.1f} req/s"
                  f"  p50 {result.latency_ms['p50']:6.2f} ms  p99 {result.latency_ms['p99']:6.2f} ms", flush=True)
        rounds.append(results)
    check_pages(pages, cookie, data.name)  # still the learner's pages after the load

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
    }
    summary = report.summarize(rounds)
    print()
    print(report.format_table(summary, config))
    report.write_json(args.output, config, rounds, summary, warmup)
    print(f"\nFull results: {args.output}")
    return 0


def check_pages(pages: dict[str, tuple[str, str]], cookie: str, name: str) -> dict[str, int]:
    """Each URL answers 200 with the learner's name (hello-world: its text); returns the body sizes."""
    sizes = {}
    for page, (base_url, path) in pages.items():
        if page == "hello":
            response = client.request(base_url, "GET", path)
            if response.status != 200 or response.text != HELLO_TEXT:
                raise client.CheckError(f"hello-world answered {response.status} {response.text[:80]!r}")
        else:
            response = client.check_page(base_url, path, cookie, name)
            if client.sets_session_cookie(response):
                print(f"note: {path} rewrites the session cookie on every request", flush=True)
        sizes[page] = len(response.body)
    return sizes


if __name__ == "__main__":
    sys.exit(main())
