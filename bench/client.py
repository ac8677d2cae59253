"""A tiny HTTP client (standard library only): logging the learner in and checking measured pages.

The session cookie is handled by hand rather than with http.cookiejar: in production mode it is
marked ``Secure``, and a cookie jar would not send it back over the plain-HTTP loopback address.
"""

from __future__ import annotations

import html
import http.client
import re
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


def request(base_url: str, method: str, path: str, *, cookie: str | None = None,
            form: dict | list[tuple[str, str]] | None = None, timeout_s: float = 10) -> Response:
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


def csrf_token(page: str, where: str = "the login page") -> str:
    finder = _CsrfFinder()
    finder.feed(page)
    if not finder.token:
        raise CheckError(f"{where} has no csrf_token field")
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


def log_in_test_client(test_client, email: str, password: str) -> None:
    """Log in through the real form with Flask's test client (the in-process measurements)."""
    page = test_client.get("/login")
    answer = test_client.post("/login", data={"email": email, "password": password,
                                              "csrf_token": csrf_token(page.get_data(as_text=True))})
    if answer.status_code != 302 or test_client.get_cookie(SESSION_COOKIE) is None:
        raise CheckError(f"the in-process login of {email} answered {answer.status_code}")


def check_page(base_url: str, path: str, cookie: str | None, name: str) -> Response:
    """GET a measured page as its viewer (None: anonymous): it must answer 200, show ``name``, and leave
    the session as it is."""
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


# -- the quiz scenario ---------------------------------------------------------------------------------

# The review's score: the first "NN%" in the element of class quiz-score (markup inside it may vary).
_SCORE = re.compile(r'class="[^"]*\bquiz-score\b[^"]*"[^>]*>(?:[^%]{0,300}?)(\d+(?:\.\d+)?)\s*%', re.DOTALL)


@dataclass(frozen=True)
class QuizLearner:
    """A logged-in quiz learner: the session cookie and the CSRF token tied to that session."""

    name: str
    cookie: str
    csrf_token: str


def quiz_learner(base_url: str, quiz_path: str, email: str, password: str, name: str) -> QuizLearner:
    """Log in, open the quiz's page (it must offer to start the quiz) and take its CSRF token."""
    cookie = login(base_url, email, password)
    page = check_page(base_url, quiz_path, cookie, name)
    cookie = session_cookie(page) or cookie  # the first token may have been stored in a new cookie
    if f'action="{quiz_path}/attempts"' not in page.text:
        raise CheckError(f"GET {quiz_path} as {name} shows no form to start the quiz (not enrolled?)")
    return QuizLearner(name, cookie, csrf_token(page.text, f"the quiz page {quiz_path}"))


def check_quiz_cycle(base_url: str, quiz_path: str, learner: QuizLearner, answers: list[tuple[str, str]]) -> dict:
    """One start and submit as the wrk scenario does them, checking the pages in between: the attempt
    page has every answer field, and the review shows a percent score and the learner's name."""
    start = request(base_url, "POST", f"{quiz_path}/attempts", cookie=learner.cookie,
                    form={"csrf_token": learner.csrf_token})
    location = start.headers.get("Location") or ""
    found = re.search(r"/attempts/(\d+)$", location)
    if start.status != 302 or not found or f"{quiz_path}/attempts/" not in location:
        raise CheckError(f"POST {quiz_path}/attempts answered {start.status}"
                         + (f" to {location}" if location else "") + f", expected 302 to {quiz_path}/attempts/<n>")
    attempt_path = f"{quiz_path}/attempts/{found.group(1)}"
    page = check_page(base_url, attempt_path, learner.cookie, learner.name)
    missing = sorted({name for name, _value in answers if f'name="{name}"' not in page.text})
    if missing:
        raise CheckError(f"the attempt page {attempt_path} has no field(s) {', '.join(missing)} that the bench answers")
    submit = request(base_url, "POST", attempt_path, cookie=learner.cookie,
                     form=[("csrf_token", learner.csrf_token), ("action", "submit"), *answers])
    location = submit.headers.get("Location") or ""
    if submit.status != 302 or not location.endswith(attempt_path):
        raise CheckError(f"submitting {attempt_path} answered {submit.status}"
                         + (f" to {location}" if location else "") + ", expected 302 to the same URL (the review)")
    review = check_page(base_url, attempt_path, learner.cookie, learner.name)
    score = _SCORE.search(review.text)
    if not score:
        raise CheckError(f"the review page {attempt_path} after submitting shows no percent score")
    return {"attempt": attempt_path, "percent": float(score.group(1)), "attempt_page_bytes": len(page.body),
            "review_page_bytes": len(review.body)}
