"""Who may use each route, login sessions, throttling, safe redirects and security headers.

Every view declares an access rule with ``@access("...")``. A before-request hook enforces it, and
``create_app`` refuses to start if any route lacks one, so a new page cannot be public by accident.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import LoginManager, current_user
from limits import RateLimitItem, parse, storage, strategies
from sqlalchemy import and_, bindparam, select

from lms.auth.models import CourseRole
from lms.auth.services import SessionUser, load_session_user
from lms.catalog.models import Course
from lms.db import get_db
from lms.enrollments.models import Enrollment
from lms.enrollments.services import completed_ids_subquery, parse_completed_ids, updated_since_read_subquery
from lms.errors import DomainError

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(stored_session_id: str) -> SessionUser | None:
    return load_session_user(get_db(), stored_session_id)


# -- access rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CourseAccess:
    """What the access check learned about the course in the URL; views reuse it (no re-query)."""

    course_id: int
    content_hash: str
    enrollment_id: int | None
    track: str | None
    last_item_id: int | None
    completed_ids: set[int]  # items the learner has completed in this course (empty for staff)
    roles: frozenset[str]
    updated_ids: set[int]  # lessons the learner read before a sync changed them


# Built once: composing a statement costs more than running it on the hot path.
_COURSE_ACCESS_QUERY = (
    select(Course.id, Course.content_hash, Enrollment.id, Enrollment.track, Enrollment.last_item_id,
           completed_ids_subquery(Enrollment.id), updated_since_read_subquery(Enrollment.id))
    .outerjoin(Enrollment, and_(Enrollment.course_id == Course.id, Enrollment.user_id == bindparam("user_id")))
    .where(Course.slug == bindparam("slug"), Course.retired_at.is_(None))
)
_ROLES_QUERY = select(CourseRole.role).where(CourseRole.user_id == bindparam("user_id"),
                                             CourseRole.course_id == bindparam("course_id"))


def _course_access(load_roles: bool) -> CourseAccess:
    slug = (request.view_args or {}).get("course_slug")
    user = current_user._get_current_object()
    user_id = user.id if user.is_authenticated else -1
    connection = get_db().connection()
    row = connection.execute(_COURSE_ACCESS_QUERY, {"user_id": user_id, "slug": slug}).first()
    if row is None:
        abort(404)
    roles: frozenset[str] = frozenset()
    if load_roles and user.is_authenticated:
        roles = frozenset(connection.execute(_ROLES_QUERY, {"user_id": user_id, "course_id": row[0]}).scalars())
    access = CourseAccess(row[0], row[1], row[2], row[3], row[4], parse_completed_ids(row[5]), roles,
                          parse_completed_ids(row[6]))
    g.course_access = access
    return access


def staff_roles(user_id: int, course_id: int) -> frozenset[str]:
    """The course roles a user holds ("instructor", "grader"), for pages that show staff links."""
    return frozenset(get_db().connection().execute(_ROLES_QUERY, {"user_id": user_id, "course_id": course_id})
                     .scalars())


def _is_admin() -> bool:
    return current_user.is_authenticated and current_user.is_admin


def _rule_public() -> bool:
    return True


def _rule_login() -> bool:
    return current_user.is_authenticated


def _rule_enrolled() -> bool:
    """Learners enrolled in the course, its staff, and admins."""
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return False
    access = _course_access(load_roles=False)
    if access.enrollment_id is not None or user.is_admin:
        return True
    return bool(_course_access(load_roles=True).roles)


def _rule_course_role(*allowed: str) -> Callable[[], bool]:
    def rule() -> bool:
        if not current_user.is_authenticated:
            return False
        access = _course_access(load_roles=True)
        return current_user.is_admin or bool(access.roles & set(allowed))

    return rule


def _rule_admin() -> bool:
    return _is_admin()


# The registry of rules. Course-scoped rules read the course from the ``course_slug`` URL argument.
ACCESS_RULES: dict[str, Callable[[], bool]] = {
    "public": _rule_public,
    "login": _rule_login,
    "enrolled": _rule_enrolled,
    "course_grader": _rule_course_role("grader", "instructor"),
    "course_instructor": _rule_course_role("instructor"),
    "admin": _rule_admin,
}
COURSE_SCOPED_RULES = frozenset({"enrolled", "course_grader", "course_instructor"})


def access(rule: str):
    """Declare who may use a view: one of ACCESS_RULES."""
    if rule not in ACCESS_RULES:
        raise ValueError(f"unknown access rule {rule!r}; known: {', '.join(ACCESS_RULES)}")

    def decorate(view):
        view.access_rule = rule
        return view

    return decorate


def rule_for_endpoint(app: Flask, endpoint: str) -> str | None:
    if endpoint == "static":
        return "public"
    view = app.view_functions.get(endpoint)
    return getattr(view, "access_rule", None)


def verify_routes_declare_access(app: Flask) -> None:
    """Fail at start-up if any route lacks an access rule, or a course rule lacks ``course_slug``."""
    missing, unscoped = [], []
    for url_rule in app.url_map.iter_rules():
        rule = rule_for_endpoint(app, url_rule.endpoint)
        if rule is None:
            missing.append(f"{url_rule.rule} ({url_rule.endpoint})")
        elif rule in COURSE_SCOPED_RULES and "course_slug" not in url_rule.arguments:
            unscoped.append(f"{url_rule.rule} ({url_rule.endpoint})")
    if missing or unscoped:
        raise RuntimeError("routes without an @access rule: " + ", ".join(missing) +
                           "; course rules without <course_slug>: " + ", ".join(unscoped))


def enforce_access() -> None:
    """Before every request: apply the endpoint's rule (unknown URLs fall through to a 404)."""
    if request.endpoint is None:
        return None
    rule = rule_for_endpoint(current_app, request.endpoint)
    if rule is None:  # unreachable after verify_routes_declare_access; deny rather than guess
        abort(403)
    if ACCESS_RULES[rule]():
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    abort(403)


# -- redirects ----------------------------------------------------------------------------------

def safe_next(target: str | None, default_endpoint: str = "progress.dashboard") -> str:
    """A redirect target on this site: a path, never another host or scheme."""
    if target:
        target = target.strip()
        parts = urlsplit(target)
        if (target.startswith("/") and not target.startswith("//") and "\\" not in target
                and not parts.scheme and not parts.netloc and all(ord(c) >= 32 for c in target)):
            return target
    return url_for(default_endpoint)


def redirect_next(default_endpoint: str = "progress.dashboard"):
    return redirect(safe_next(request.args.get("next") or request.form.get("next"), default_endpoint))


# -- throttling ---------------------------------------------------------------------------------

class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, retry_after: int, what: str = "attempts"):
        super().__init__(f"Too many {what}. Try again in {retry_after} seconds.")
        self.retry_after = retry_after


class Throttle:
    """Counts events per key in a moving window (the ``limits`` library; memory or Redis storage).

    Used explicitly by views for login and registration, so failures can be counted per IP and
    per account and the message can say how long to wait.
    """

    def __init__(self, storage_uri: str):
        self._limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))

    def retry_after(self, limit: RateLimitItem, *key: str) -> int | None:
        """Seconds to wait before the next event is allowed, or None if it is allowed now."""
        if self._limiter.test(limit, *key):
            return None
        reset_time, _remaining = self._limiter.get_window_stats(limit, *key)
        return max(1, math.ceil(reset_time - time.time()))

    def hit(self, limit: RateLimitItem, *key: str) -> None:
        self._limiter.hit(limit, *key)

    def check(self, limits_and_keys: list[tuple[RateLimitItem, tuple[str, ...]]], what: str) -> None:
        waits = [w for limit, key in limits_and_keys if (w := self.retry_after(limit, *key)) is not None]
        if waits:
            raise TooManyAttempts(max(waits), what)


def get_throttle() -> Throttle:
    return current_app.extensions["lms.throttle"]


def limit(text: str) -> RateLimitItem:
    return parse(text)


# -- headers ------------------------------------------------------------------------------------

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def add_security_headers(response):
    headers = response.headers
    if "Content-Security-Policy" not in headers:  # a view may set a stricter one (course media does)
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers.extend(SECURITY_HEADERS)
    if current_app.config["SESSION_COOKIE_SECURE"]:
        headers.extend((HSTS,))
    if "Cache-Control" not in headers and request.endpoint != "static" and current_user.is_authenticated:
        # Pages for a logged-in person are theirs alone: never cached by shared caches.
        headers["Cache-Control"] = "private, no-store"
    return response


class InvalidCharacters(DomainError):
    status_code = 400


def reject_nul_characters() -> None:
    """No text anyone types may contain NUL: PostgreSQL cannot store it, and no person means it."""
    found = "\x00" in request.path or b"%00" in request.query_string or b"\x00" in request.query_string
    if not found and request.method != "GET" and request.form:
        found = any("\x00" in value for value in request.form.values())
    if found:
        raise InvalidCharacters("The request contains a NUL character (\\0), which is not allowed. "
                                "Remove it and try again.")


def init_app(app: Flask, ratelimit_storage_url: str) -> None:
    login_manager.init_app(app)
    app.extensions["lms.throttle"] = Throttle(ratelimit_storage_url)
    app.before_request(reject_nul_characters)
    app.before_request(enforce_access)
    app.after_request(add_security_headers)
