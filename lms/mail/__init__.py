"""Outgoing mail, delivered through the job outbox (see services.py and lms.jobs)."""

from flask import Flask

from lms.mail.services import make_backend


def init_app(app: Flask, settings) -> None:
    # Built once at start-up so a misspelt LMS_MAIL_BACKEND stops the app instead of every delivery.
    app.extensions["lms.mail_backend"] = make_backend(settings)
