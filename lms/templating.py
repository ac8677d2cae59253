"""Template globals and filters shared by every feature's templates."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request

from lms.auth.forms import ActionForm


def _human_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%d %B %Y}".lstrip("0")


def _hours(value: float | None) -> str:
    if not value:
        return ""
    return f"{value:g} hour" + ("" if value == 1 else "s")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["human_date"] = _human_date
    app.jinja_env.filters["hours"] = _hours
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def _globals():
        return {"logout_form": ActionForm, "current_path": request.path}
