"""Starting and stopping the gunicorn servers the bench measures, on free loopback ports."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORKERS = 2


def gunicorn_flags(port: int, workers: int = WORKERS) -> list[str]:
    """The flags both servers get, identical but for the port. No access log (gunicorn's default)."""
    return ["--workers", str(workers), "--worker-class", "sync", "--bind", f"{HOST}:{port}",
            "--log-level", "warning", "--chdir", str(ROOT)]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One gunicorn master (and its workers) serving ``app`` (a "module:variable" WSGI path)."""

    name: str
    app: str
    env: dict[str, str]
    log_path: Path
    workers: int = WORKERS
    port: int = 0
    # A gunicorn configuration file (deploy/gunicorn.conf.py) instead of gunicorn_flags(); it reads
    # its bind address from LMS_BIND in ``env``.
    config_file: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def command(self) -> list[str]:
        if self.config_file is not None:
            return [sys.executable, "-m", "gunicorn", "-c", str(self.config_file), "--chdir", str(ROOT), self.app]
        return [sys.executable, "-m", "gunicorn", *gunicorn_flags(self.port, self.workers), self.app]

    def start(self, ready_path: str = "/", timeout_s: float = 30) -> None:
        """Start gunicorn in its own process group and wait until ``ready_path`` answers."""
        self.port = self.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LMS_") and k != "GUNICORN_CMD_ARGS"}
        env |= self.env
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(ready_path, timeout_s)

    def _wait_ready(self, path: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.name} server exited with code {self.process.returncode} "
                                   f"before answering; its log:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
                connection.request("GET", path)
                connection.getresponse().read()
                connection.close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the {self.name} server did not answer on port {self.port} within {timeout_s:g}s; "
                           f"its log:\n{self.log_tail()}")

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the master and its workers (Linux /proc), or None where unknown.

        Less disturbed by other work on the machine than requests/s: the bench reports it per request.
        """
        if self.process is None or not Path("/proc").is_dir():
            return None
        total_ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:  # the process ended meanwhile
                continue
            # After "pid (comm)": state ppid pgrp ... utime(12) stime(13) cutime(14) cstime(15), 0-based here.
            if int(fields[2]) == self.process.pid:
                total_ticks += int(fields[11]) + int(fields[12])
                if stat.parent.name == str(self.process.pid):  # workers that exited and were reaped
                    total_ticks += int(fields[13]) + int(fields[14])
        return total_ticks / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout_s: float = 10) -> None:
        """Stop the master and its workers (SIGTERM to the process group, SIGKILL after ``timeout_s``)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(wait_s)
                return
            except subprocess.TimeoutExpired:
                continue
