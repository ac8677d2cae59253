"""Running wrk: finding (or installing) it, one load run, and reading the report of wrk_report.lua."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

REPORT_SCRIPT = Path(__file__).resolve().parent / "wrk_report.lua"
QUIZ_SCRIPT = Path(__file__).resolve().parent / "wrk_quiz.lua"
RESULT_PREFIX = "BENCH_RESULT "


class MeasurementError(RuntimeError):
    """A load run could not be taken or its answers were wrong; the message says which and why."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run, as printed by wrk_report.lua."""

    requests: int
    duration_s: float
    bytes: int
    requests_per_s: float
    latency_ms: dict[str, float]  # p50, p95, p99, mean, max
    errors: dict[str, int]  # connect, read, write, status (HTTP >= 400), timeout; scenarios add their own
    details: dict | None = None  # what a scenario script reports besides (wrk_quiz.lua: cycles, ...)
    server_cpu_ms_per_request: float | None = None  # filled in by the caller, which knows the server

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def bytes_per_response(self) -> float:
        return self.bytes / self.requests if self.requests else 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {"bytes_per_response": round(self.bytes_per_response, 1)}


def ensure_wrk() -> str:
    """The path of wrk; installs Debian's package when it is missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed. Install it (Debian/Ubuntu: `sudo apt-get install wrk`) "
                         "and run `make bench` again.")
    print("wrk is missing: installing Debian's package (apt-get install wrk)...", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
        subprocess.run(install, env=env, check=False)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk with apt-get; install it by hand and run `make bench` again.")
    return found


def parse_report(stdout: str) -> WrkResult:
    """Find the BENCH_RESULT line in wrk's output."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            return WrkResult(**json.loads(line.removeprefix(RESULT_PREFIX)))
    raise MeasurementError("wrk printed no BENCH_RESULT line; its output was:\n" + stdout)


def run_wrk(wrk: str, url: str, *, duration_s: float, connections: int, threads: int,
            headers: dict[str, str] | None = None, timeout_s: int = 5, script: Path = REPORT_SCRIPT,
            script_args: list[str] | None = None) -> WrkResult:
    """One load run against ``url`` (with ``script`` and its ``script_args``, given after ``--``).
    Raises MeasurementError when wrk fails or reports any error."""
    threads = max(1, min(threads, connections))
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration_s:g}s", f"--timeout={timeout_s}s",
               "-s", str(script)]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    except subprocess.TimeoutExpired:
        raise MeasurementError(f"wrk did not finish its {duration_s:g}s run on {url} within a minute more") from None
    if completed.returncode != 0:
        raise MeasurementError(f"wrk failed on {url} (exit {completed.returncode}): "
                               f"{(completed.stderr or completed.stdout).strip()}")
    result = parse_report(completed.stdout)
    if result.requests == 0:
        raise MeasurementError(f"wrk got no answer at all from {url}")
    if result.error_count:
        described = ", ".join(f"{count} {kind}" for kind, count in result.errors.items() if count)
        example = (result.details or {}).get("first_unexpected")
        raise MeasurementError(f"{url}: {described} error(s) in {result.requests} requests "
                               "(status = HTTP 4xx/5xx answers; unexpected = answers the scenario did not expect"
                               + (f", the first: {example}" if example else "") + "); the measurement is not valid")
    return result
