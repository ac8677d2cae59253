"""A tiny HTTP client (standard library only): logging the learner in and checking measured pages.

The session cookie is handled by hand rather than with http.cookiejar: in production mode it is
marked ``Secure``, and a cookie jar would not send it back over the plain-HTTP loopback address.
"""

from __future__ import annotations

import html
import http.client
from dataclasses import dataclass
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

SESSION_COOKIE = "skillmark_session"
USER_AGENT = "skillmark-bench/1"  # sent with every request, wrk's too: Flask-Login's session check uses it


class CheckError(RuntimeError):
    """A page did not answer as the bench needs; the message says what was wrong."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def request(base_url: str, method: str, path: str, *, cookie: str | None = None, form: dict | None = None,
            timeout_s: float = 10) -> Response:
    """One request, following no redirect."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_s)
    headers = {"User-Agent": USER_AGENT}
    body = None
    if cookie:
        headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
    if form is not None:
        body = urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def session_cookie(response: Response) -> str | None:
    """The value of the session cookie a response sets, if it sets one."""
    for header in response.headers.get_all("Set-Cookie") or []:
        parsed = SimpleCookie()
        parsed.load(header)
        if SESSION_COOKIE in parsed:
            return parsed[SESSION_COOKIE].value
    return None


class _CsrfFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "input" and values.get("name") == "csrf_token" and self.token is None:
            self.token = values.get("value")


def csrf_token(page: str) -> str:
    finder = _CsrfFinder()
    finder.feed(page)
    if not finder.token:
        raise CheckError("the login page has no csrf_token field")
    return finder.token


def login(base_url: str, email: str, password: str) -> str:
    """Log in through the real form; returns the session cookie's value."""
    page = request(base_url, "GET", "/login")
    if page.status != 200:
        raise CheckError(f"GET /login answered {page.status}, expected 200")
    cookie = session_cookie(page)
    if cookie is None:
        raise CheckError("GET /login set no session cookie (needed for the CSRF token)")
    answer = request(base_url, "POST", "/login", cookie=cookie,
                     form={"email": email, "password": password, "csrf_token": csrf_token(page.text)})
    if answer.status != 302:
        raise CheckError(f"POST /login answered {answer.status}, expected 302 (a redirect after logging in)")
    logged_in = session_cookie(answer)
    if logged_in is None:
        raise CheckError("POST /login set no session cookie")
    return logged_in


def check_page(base_url: str, path: str, cookie: str, name: str) -> Response:
    """GET a measured page as the learner: it must answer 200, show ``name``, and leave the session as it is."""
    response = request(base_url, "GET", path, cookie=cookie)
    if response.status != 200:
        where = response.headers.get("Location")
        raise CheckError(f"GET {path} answered {response.status}" + (f" (to {where})" if where else "") +
                         ", expected 200")
    if html.escape(name) not in response.text:
        raise CheckError(f"GET {path} answered 200 but the page does not show the learner's name {name!r}")
    return response


def sets_session_cookie(response: Response) -> bool:
    """Whether a response rewrote the session cookie (every wrk request would then pay for it too)."""
    return session_cookie(response) is not None
