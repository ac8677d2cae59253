"""Losing PostgreSQL costs a few requests answered with a 503 page, never a 500 or a lost write, and
the app recovers by itself once the database is back (idle pooled connections are pinged before use,
lms.db). The outage is made by cutting a TCP proxy between the app and the server, never by stopping
the shared server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from lms import create_app
from lms.auth.models import User
from lms.db import get_engine
from tests.conftest import CSRF_INPUT, PASSWORD, _empty_all_tables, make_settings
from tests.tcp_proxy import CuttableProxy


@pytest.fixture
def proxied(tmp_path, database_url):
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("an outage of the database server is a PostgreSQL matter (SQLite is a file)")
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = create_app(make_settings(tmp_path, through_proxy))
    yield app, proxy
    proxy.restore()
    _empty_all_tables(get_engine(app))
    get_engine(app).dispose()
    proxy.close()


def _register(client, email: str):
    token = CSRF_INPUT.search(client.get("/register").get_data(as_text=True))
    data = {"name": "Outage Learner", "email": email, "password": PASSWORD, "confirm": PASSWORD}
    return client.post("/register", data={**data, "csrf_token": token.group(1) if token else ""})


def _accounts(app) -> int:
    with app.extensions["lms.sessionmaker"]() as db:
        return db.scalar(select(func.count()).select_from(User))


def test_an_outage_answers_503_and_loses_no_write(proxied):
    app, proxy = proxied
    client = app.test_client()
    assert client.get("/courses").status_code == 200  # the pool holds live connections now
    csrf_page = client.get("/register")
    token = CSRF_INPUT.search(csrf_page.get_data(as_text=True)).group(1)

    proxy.cut()
    page = client.get("/courses")
    assert page.status_code == 503 and "cannot reach its database" in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == "30"
    write = client.post("/register", data={"csrf_token": token, "name": "Cut Off", "email": "cut@example.com",
                                           "password": PASSWORD, "confirm": PASSWORD})
    assert write.status_code == 503  # not acknowledged, so nobody believes it was saved
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200  # the process itself is fine: no restart wanted

    proxy.restore()
    # Pre-ping replaces the dead pooled connections: the first request after the outage works.
    assert client.get("/courses").status_code == 200
    assert _accounts(app) == 0  # the refused registration left nothing behind
    assert _register(client, "after@example.com").status_code in (302, 303)
    assert _accounts(app) == 1


def test_a_pooled_connection_dropped_while_idle_is_replaced_before_use(proxied, monkeypatch):
    """The pre-ping of idle connections: the pool's connections die with the cut; the database is back
    before anyone asks; the next request pings the idle connection, finds it dead and gets a new one."""
    import lms.db

    app, proxy = proxied
    monkeypatch.setattr(lms.db, "PING_AFTER_IDLE_S", 0.0)  # (instead of waiting a second)
    client = app.test_client()
    assert client.get("/courses").status_code == 200
    proxy.cut()
    proxy.restore()
    assert client.get("/courses").status_code == 200  # no 503: nobody saw the outage


def test_a_connection_in_use_a_moment_ago_is_not_pinged(proxied):
    """Under load a connection goes back to work within milliseconds: no ping then (a round trip per
    request). Dropped in that moment, it costs one request a 503, and the pool starts afresh."""
    app, proxy = proxied
    pings = []
    engine = get_engine(app)
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)
    client = app.test_client()
    try:
        for _ in range(5):
            assert client.get("/courses").status_code == 200
        assert pings == []
        proxy.cut()
        proxy.restore()
        assert client.get("/courses").status_code == 503
        assert client.get("/courses").status_code == 200
    finally:
        engine.dialect.do_ping = original
