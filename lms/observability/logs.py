"""Logging: one line per record, JSON in production (``LMS_LOG_FORMAT=json``), with the request id.

Every request gets an id: the proxy's ``X-Request-ID`` when it sends a sane one (so the proxy's log
and ours share it), else a fresh random one. It is sent back in the response's ``X-Request-ID``
header, and every record logged while the request runs carries it, so one grep finds everything a
request did on any node. With ``LMS_ACCESS_LOG`` on (the default in production) the app writes one
"request" record per request (method, path, status, milliseconds, user id): gunicorn's own access
log knows no request id, so the gunicorn configuration (gunicorn.conf.py) turns it off.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
# What we accept from a proxy: short, and nothing that could break a log line or a header.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
LOG_FORMATS = ("text", "json")
access_log = logging.getLogger("lms.access")


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request: commands, job runners)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


# Attributes every LogRecord has; anything else was passed with ``extra=`` and goes into the JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the
    ``extra=`` fields, and the exception's traceback as text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", None)}
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def configure_logging(level: str, log_format: str) -> None:
    """Set the root logger's one handler (stderr), replacing any earlier one of ours."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.set_name("lms")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "lms"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def init_app(app: Flask, access_log_on: bool) -> None:
    @app.before_request
    def _assign_request_id():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SANE_REQUEST_ID.fullmatch(given) else secrets.token_hex(16)
        g.request_started = time.perf_counter()

    @app.after_request
    def _send_request_id(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if access_log_on and request_id and access_log.isEnabledFor(logging.INFO):
            # Only a user the request already loaded (Flask-Login keeps it in g): asking current_user
            # here would load one, a query, on pages that never needed it.
            user = g.get("_login_user")
            user_id = user.id if user is not None and user.is_authenticated else None
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"method": request.method, "path": request.path, "status": response.status_code,
                                   "ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                                   "user_id": user_id})
        return response
