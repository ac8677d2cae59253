"""Template globals and filters shared by every feature's templates."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from flask import Flask, current_app, request, session, url_for
from flask_wtf.csrf import generate_csrf

from lms.reports import svg


def _human_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%d %B %Y}".lstrip("0")


def _hours(value: float | None) -> str:
    if not value:
        return ""
    return f"{value:g} hour" + ("" if value == 1 else "s")


def _points(value: float | None) -> str:
    """2 -> "2", 2.5 -> "2.5", 1/3 -> "0.33": points as people write them."""
    return "" if value is None else f"{round(value, 2):g}"


# The signed form of each session's CSRF token. Signing costs more than the rest of a page's layout;
# with WTF_CSRF_TIME_LIMIT = None a token signed once stays valid for its session, so each process
# keeps the signed form (bounded; secrets stay in memory, never written anywhere), by signing key and
# raw token. Templates reach it through the context processor below: Flask-WTF's own context processor
# puts its ``generate_csrf`` into every template's context, which would shadow a Jinja global.
_signed_csrf: dict[tuple, str] = {}
SIGNED_CSRF_MAX = 10_000


def csrf_token() -> str:
    raw = session.get("csrf_token")
    key = current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
    if raw is not None and (signed := _signed_csrf.get((key, raw))) is not None:
        return signed
    signed = generate_csrf()
    if len(_signed_csrf) >= SIGNED_CSRF_MAX:
        _signed_csrf.clear()
    _signed_csrf[key, session["csrf_token"]] = signed
    return signed


def init_app(app: Flask) -> None:
    app.jinja_env.filters["human_date"] = _human_date
    app.jinja_env.filters["hours"] = _hours
    app.jinja_env.filters["points"] = _points
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["week_chart"] = svg.week_chart  # the dashboards' charts per week
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    site_urls: list[SimpleNamespace] = []

    def _site_urls() -> SimpleNamespace:
        """The layout's fixed links, built once per process (url_for costs more than the rest of the
        layout on a lesson page)."""
        if not site_urls:
            site_urls.append(SimpleNamespace(
                css=url_for("static", filename="css/skillmark.css"),
                pygments_css=url_for("static", filename="css/pygments.css"),
                favicon=url_for("static", filename="favicon.svg"), badge=url_for("static", filename="badge.svg"),
                home=url_for("catalog.index"), courses=url_for("catalog.courses"),
                dashboard=url_for("progress.dashboard"), logout=url_for("auth.logout"),
                login=url_for("auth.login"), register=url_for("auth.register"),
            ))
        return site_urls[0]

    # (Registered after Flask-WTF's context processor, so ``csrf_token`` here is the cached one.)
    @app.context_processor
    def _globals():
        return {"site_urls": _site_urls(), "current_path": request.path, "csrf_token": csrf_token}
