"""Session cookies: remembering verified cookies changes nothing about what a cookie is worth."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask import session

from lms.security import access
from lms.sessions import VerifiedCookieSessionInterface


@pytest.fixture
def session_app(app):
    @app.route("/_test/session/<action>", methods=["POST"])
    @access("public")
    def session_probe(action: str):
        if action == "set":
            session["color"] = "blue"
        elif action == "flash":
            session.setdefault("items", []).append("x")  # a mutable value, changed in place
            session.modified = True
        return {key: session[key] for key in session if not key.startswith("_") and key != "csrf_token"}

    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _cookie(client) -> str:
    return client.get_cookie(session_app_cookie_name).value


session_app_cookie_name = "skillmark_session"


def test_the_app_uses_the_remembering_interface(app):
    assert isinstance(app.session_interface, VerifiedCookieSessionInterface)


def test_a_remembered_cookie_still_expires(session_app, monkeypatch):
    client = session_app.test_client()
    client.post("/_test/session/set")
    cookie = _cookie(client)
    assert client.post("/_test/session/read").json == {"color": "blue"}  # verified, now remembered
    assert session_app.session_interface._verified
    session_app.permanent_session_lifetime = timedelta(seconds=60)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)  # two minutes later
    client.set_cookie(session_app_cookie_name, cookie)
    assert client.post("/_test/session/read").json == {}  # too old: an empty session, as without the memory


def test_a_tampered_cookie_is_not_accepted_even_after_the_real_one_was_remembered(session_app):
    client = session_app.test_client()
    client.post("/_test/session/set")
    real = _cookie(client)
    assert client.post("/_test/session/read").json == {"color": "blue"}
    payload, _, signature = real.rpartition(".")
    client.set_cookie(session_app_cookie_name, payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:])
    assert client.post("/_test/session/read").json == {}


def test_a_new_secret_key_invalidates_remembered_cookies(session_app):
    client = session_app.test_client()
    client.post("/_test/session/set")
    assert client.post("/_test/session/read").json == {"color": "blue"}
    session_app.secret_key = "another-secret-key-of-sufficient-length-0123456789"
    assert client.post("/_test/session/read").json == {}


def test_sessions_with_mutable_values_are_not_shared_between_requests(session_app):
    client = session_app.test_client()
    client.post("/_test/session/flash")
    cookie = _cookie(client)
    first = client.post("/_test/session/read").json
    client.set_cookie(session_app_cookie_name, cookie)  # the same cookie again, as a second tab would send
    second = client.post("/_test/session/flash").json
    client.set_cookie(session_app_cookie_name, cookie)
    third = client.post("/_test/session/read").json
    assert first == {"items": ["x"]} and second == {"items": ["x", "x"]} and third == {"items": ["x"]}


def test_templates_use_the_per_process_signed_csrf_token(app):
    """Flask-WTF's context processor puts its own generate_csrf into every template's context (which
    would shadow a Jinja global); the layout's must win, and sign a session's token once."""
    from flask import render_template_string

    from lms import templating

    with app.test_request_context("/"):
        context: dict = {}
        app.update_template_context(context)
        assert context["csrf_token"] is templating.csrf_token
        first = render_template_string("{{ csrf_token() }}")
        assert render_template_string("{{ csrf_token() }}") == first
