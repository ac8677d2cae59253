"""Probes for load balancers and orchestrators.

- ``GET /healthz``: the process is up and answering (liveness). Touches nothing else, so a database
  outage never makes a supervisor restart healthy app processes.
- ``GET /readyz``: the process can serve (readiness): the database answers ``SELECT 1`` and, when
  ``LMS_REDIS_URL`` is set, Redis answers PING. 200 with what was checked, or 503 naming what failed,
  so a balancer takes a node out of rotation while its database or Redis is unreachable.
Both answer JSON, are not cached, and run no session or login work.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from lms.db import get_engine
from lms.security import access

bp = Blueprint("health", __name__)
log = logging.getLogger("lms.health")


def _check_database() -> str:
    try:
        with get_engine(current_app).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"; the reason is logged
        log.warning("readiness: database unreachable: %s", exc)
        return "unreachable"
    return "ok"


def _check_redis() -> str:
    client = current_app.extensions.get("lms.redis")
    if client is None:
        return "not configured"
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        log.warning("readiness: redis unreachable: %s", exc)
        return "unreachable"
    return "ok"


def _answer(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
@access("public")
def healthz():
    return _answer({"status": "ok"}, 200)


@bp.route("/readyz")
@access("public")
def readyz():
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(state in ("ok", "not configured") for state in checks.values())
    return _answer({"status": "ready" if ready else "not ready", **checks}, 200 if ready else 503)
