"""Template globals and filters shared by every feature's templates."""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

from flask import Flask, request, url_for


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


def init_app(app: Flask) -> None:
    app.jinja_env.filters["human_date"] = _human_date
    app.jinja_env.filters["hours"] = _hours
    app.jinja_env.filters["points"] = _points
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
                favicon=url_for("static", filename="favicon.svg"),
                home=url_for("catalog.index"), courses=url_for("catalog.courses"),
                dashboard=url_for("progress.dashboard"), logout=url_for("auth.logout"),
                login=url_for("auth.login"), register=url_for("auth.register"),
            ))
        return site_urls[0]

    @app.context_processor
    def _globals():
        return {"site_urls": _site_urls(), "current_path": request.path}
