"""Business failures as exceptions, and the handlers that turn them (and HTTP errors) into pages.

Services raise a DomainError subclass with a message meant for the person using the site; views
let it propagate (or catch it to re-render a form) and the handler here answers with the right
status code and that message. Nothing a user types should end in a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A failure the user can understand and act on."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


TITLES = {
    400: "That request could not be handled",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not available here",
    409: "That conflicts with what already happened",
    413: "That upload is too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "Skillmark is briefly unavailable",
}

DEFAULT_MESSAGES = {
    400: "The request was not understood. Go back and try again.",
    403: "Your account does not have access to this page. If you think it should, ask the course's instructor.",
    404: "There is nothing at this address. Check the link, or start again from the catalog.",
    405: "This address does not accept that kind of request.",
    413: "The data sent was larger than allowed. Send something smaller.",
    429: "Please wait a moment and try again.",
    500: "An unexpected error happened and has been logged. Try again in a moment.",
    503: "The site cannot reach its database right now. Try again in a minute.",
}


def render_error(status: int, message: str | None = None, headers: dict | None = None):
    wants_json = request.accept_mimetypes.best == "application/json"
    text = message or DEFAULT_MESSAGES.get(status, "")
    if wants_json:
        return {"error": TITLES.get(status, "Error"), "message": text}, status, headers or {}
    try:
        page = render_template("errors/error.html", status=status, title=TITLES.get(status, "Error"), message=text)
    except Exception:  # e.g. the database is down and the layout cannot load the user: plain page
        log.exception("error page could not be rendered")
        page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(TITLES.get(status, 'Error'))}"
                f"</title><h1>{escape(TITLES.get(status, 'Error'))}</h1><p>{escape(text)}</p></html>")
    return page, status, headers or {}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        return render_error(exc.status_code, exc.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(_exc: CSRFError):
        return render_error(400, "This form has expired or was sent from another site. "
                                 "Go back, reload the page, and send it again.")

    @app.errorhandler(ClientDisconnected)
    def _upload_cut_off(_exc: ClientDisconnected):
        # The body ended before its Content-Length: werkzeug stops parsing, so nothing was stored.
        return render_error(400, "The upload was interrupted before it finished; nothing was saved. Check your "
                                 "connection and upload the file again.")

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge):
        limit = request.max_content_length
        size = f" (the limit is {limit / 1024 / 1024:.3g} MB)" if limit else ""
        return render_error(413, f"That upload is larger than allowed{size}. Nothing was saved; send a smaller "
                                 "file.")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return render_error(exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError  # noqa: PLC0415

        # Operational errors are the database's state (unreachable, restarting, locked), not a bug
        # in a query: the honest answer is "try again shortly".
        if isinstance(exc, (OperationalError, InterfaceError, DisconnectionError)):
            log.warning("database unavailable: %s", exc)
            return render_error(503, headers={"Retry-After": "30"})
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(500)
