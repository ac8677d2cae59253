"""Outgoing mail through the outbox (see services.py)."""

import logging

from flask import Flask, current_app, g

from lms.mail.services import PENDING_FLAG, deliver_pending, make_backend

log = logging.getLogger("lms.mail")


def init_app(app: Flask, settings) -> None:
    app.extensions["lms.mail_backend"] = make_backend(settings)

    @app.teardown_request
    def _deliver_after_commit(exc):
        db = g.get("db")
        if exc is None and db is not None and db.info.pop(PENDING_FLAG, False):
            try:
                with current_app.extensions["lms.sessionmaker"]() as fresh:
                    deliver_pending(fresh, current_app.extensions["lms.mail_backend"])
            except Exception:  # the change is committed; the message waits in the outbox
                log.exception("mail delivery failed; messages stay in the outbox")
