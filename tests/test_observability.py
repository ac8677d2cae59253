"""Probes (/healthz, /readyz), request ids and JSON logs (lms/observability)."""

from __future__ import annotations

import json
import logging

import pytest

from lms import create_app
from lms.config import ConfigError, load_settings
from lms.observability.logs import JsonFormatter, RequestIdFilter
from tests.conftest import make_settings


def test_healthz_answers_without_the_database(client, app, monkeypatch):
    def broken(*_args, **_kwargs):
        raise AssertionError("healthz must not touch the database")

    monkeypatch.setattr("lms.db.get_engine", broken)
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok"}
    assert answer.headers["Cache-Control"] == "no-store"


def test_readyz_checks_the_database(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json() == {"status": "ready", "database": "ok", "redis": "not configured"}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(make_settings(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none"))
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["database"] == "unreachable"
    assert answer.get_json()["status"] == "not ready"


def test_readyz_is_503_when_redis_is_unreachable(tmp_path, database_url):
    app = create_app(make_settings(tmp_path, database_url, redis_url="redis://127.0.0.1:1/0"))
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["redis"] == "unreachable"


def test_every_answer_carries_a_request_id_and_a_sane_one_from_the_proxy_is_kept(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["X-Request-ID"]) == 32 and first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    kept = client.get("/healthz", headers={"X-Request-ID": "proxy-1234-abcd"})
    assert kept.headers["X-Request-ID"] == "proxy-1234-abcd"
    for bad in ("short", "x" * 200, "evil;Set-Cookie: a=b", "<script>"):
        replaced = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert replaced != bad and len(replaced) == 32


def test_json_log_lines_carry_the_request_id_and_extra_fields(app):
    formatter, request_filter = JsonFormatter(), RequestIdFilter()
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "req-123456789"
        record = logging.LogRecord("lms.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
        record.status = 200
        request_filter.filter(record)
        line = json.loads(formatter.format(record))
    assert line["message"] == "hello world" and line["request_id"] == "req-123456789"
    assert line["level"] == "INFO" and line["logger"] == "lms.test" and line["status"] == 200
    assert line["time"].endswith("+00:00")


def test_the_access_log_records_each_request(tmp_path, database_url, caplog):
    app = create_app(make_settings(tmp_path, database_url, access_log=True))
    with caplog.at_level(logging.INFO, logger="lms.access"):
        answer = app.test_client().get("/healthz", headers={"X-Request-ID": "trace-abcdef12"})
    [record] = [r for r in caplog.records if r.name == "lms.access"]
    assert (record.method, record.path, record.status, record.request_id) == ("GET", "/healthz", 200, "trace-abcdef12")
    assert record.user_id is None and record.ms >= 0 and answer.status_code == 200


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("LMS_REDIS_URL", "http://127.0.0.1:6379", "LMS_REDIS_URL must be a redis://"),
    ("LMS_LOG_FORMAT", "xml", "LMS_LOG_FORMAT must be text or json"),
    ("LMS_LOG_LEVEL", "loud", "LMS_LOG_LEVEL must be"),
])
def test_wrong_settings_say_what_is_allowed(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        load_settings()


def test_production_defaults_to_json_logs_and_the_access_log(monkeypatch):
    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.setenv("LMS_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = load_settings()
    assert settings.log_format == "json" and settings.access_log
    assert settings.ratelimit_storage_url == "redis://127.0.0.1:6379/0"  # limits shared through Redis


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(tmp_path, database_url):
    from flask import request

    from lms.security import access

    seen = {}

    def whoami():
        seen.update(addr=request.remote_addr, scheme=request.scheme)
        return "ok"

    behind_proxy, direct = {"addr": "203.0.113.7", "scheme": "https"}, {"addr": "127.0.0.1", "scheme": "http"}
    for hops, expected in ((1, behind_proxy), (0, direct)):
        app = create_app(make_settings(tmp_path, database_url, proxy_hops=hops))
        app.add_url_rule("/whoami", "whoami", access("public")(whoami))
        app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
        assert seen == expected, hops  # without LMS_PROXY_HOPS the headers are not believed
