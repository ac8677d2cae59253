"""Real app processes for tests: gunicorn nodes started from deploy/gunicorn.conf.py, `flask` commands
in a node's environment, and a small browser that talks to any node under one public host name.

No test-only code path in the app: each node is `gunicorn -c deploy/gunicorn.conf.py wsgi:app` with
LMS_* settings in its environment, as deploy/skillmark-web.service starts it. Every process runs in a
process group of its own, so stopping it also stops gunicorn's workers.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtual environment's bin/ (gunicorn, flask)
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def clean_environ() -> dict[str, str]:
    """This process's environment without any LMS_* setting (a developer's own must not leak in)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "WEB_CONCURRENCY"))}


def stop_process(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM to the process's group (its children too), SIGKILL after ``grace`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


def start_flask(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    """Start `flask --app wsgi ARGS...` (from the repository root) in its own process group."""
    with log.open("ab") as out:
        return subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def flask(env: dict[str, str], *args: str, log: Path, timeout: float = 120) -> str:
    """Run a `flask` command to its end; its output, or an AssertionError with it when it failed."""
    process = start_flask(env, *args, log=log)
    try:
        code = process.wait(timeout=timeout)
    finally:
        stop_process(process)
    output = log.read_text(errors="replace")
    assert code == 0, f"`flask {' '.join(args)}` exited {code}:\n{output[-4000:]}"
    return output


@dataclass
class Node:
    """One app server: gunicorn with deploy/gunicorn.conf.py on 127.0.0.1:``port``."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None

    def start(self) -> Node:
        env = {**self.env, "LMS_BIND": f"127.0.0.1:{self.port}"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /readyz answers 200 (database and Redis reached), or fail with the server's log."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"node {self.name} exited {self.process.returncode}:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/readyz")
                response = connection.getresponse()
                last = f"{response.status} {response.read()[:200]!r}"
                connection.close()
                if response.status == 200:
                    return
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise AssertionError(f"node {self.name} not ready after {timeout} s ({last}):\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """A browser behind the site's load balancer: one cookie jar for the public host, whichever node
    answers. It talks plain HTTP to a node and says what the TLS proxy in front would (X-Forwarded-
    Proto https and the client's address: the nodes run with LMS_PROXY_HOPS=1), so cookies are
    marked Secure, as in production, and it keeps them. Sends a same-origin Referer with each POST, as
    a browser does (CSRF protection checks it over https)."""

    host: str  # the public host name, sent as Host to every node
    client_ip: str = field(default_factory=lambda: "10." + ".".join(str(b % 250 + 1) for b in os.urandom(3)))
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, node: Node, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        all_headers = {"Host": self.host, "X-Forwarded-For": self.client_ip, "X-Forwarded-Proto": "https",
                       "User-Agent": "two-nodes-test/1", **(headers or {})}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            raw = connection.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, node: Node, path: str) -> Response:
        return self.request(node, "GET", path)

    def csrf(self, node: Node, page: str) -> str:
        response = self.get(node, page)
        match = CSRF_INPUT.search(response.text)
        assert match, f"no CSRF token on {page} from node {node.name} (status {response.status})"
        return match.group(1)

    def post(self, node: Node, path: str, data: dict[str, str], *, form_page: str,
             files: dict[str, tuple[str, bytes, str]] | None = None, form_from: Node | None = None) -> Response:
        """Submit the form of ``form_page``, fetched (for its CSRF token) from ``form_from``, by default
        the node the form is posted to."""
        fields = {**data, "csrf_token": self.csrf(form_from or node, form_page)}
        headers = {"Referer": f"https://{self.host}{form_page}", "Origin": f"https://{self.host}"}
        if files:
            boundary = f"----two-nodes-{uuid.uuid4().hex}"
            parts = []
            for name, value in fields.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                             .encode())
            for name, (filename, content, media_type) in files.items():
                head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                        f"Content-Type: {media_type}\r\n\r\n")
                parts.append(head.encode() + content + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        else:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.request(node, "POST", path, body=body, headers=headers)


def path_of(url: str) -> str:
    """The path and query of a URL (emailed links name the public host, not a node)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
