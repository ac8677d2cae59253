"""App-wide behaviour: security headers, error pages, configuration, the migrations."""

from __future__ import annotations

import pytest

from lms.config import ConfigError, load_settings


def test_security_headers_on_every_response(client):
    for url in ("/courses", "/login", "/nope"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"]


def test_pages_have_no_inline_scripts_or_styles(client):
    page = client.get("/courses").get_data(as_text=True)
    assert "<script" not in page and "style=" not in page and "<style" not in page


def test_404_403_405_pages(auth, client, make_user):
    assert "Page not found" in client.get("/no/such/page/at/all").get_data(as_text=True)
    response = client.get("/logout")
    assert response.status_code == 405


def test_json_errors_for_json_clients(client):
    response = client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404 and response.json["error"] == "Page not found"


def test_unexpected_error_is_a_500_page_not_a_traceback(app, client):
    from lms.security import access

    app.add_url_rule("/boom", "boom", access("public")(lambda: 1 / 0))
    response = client.get("/boom")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "ZeroDivisionError" not in response.get_data(as_text=True)


def test_production_requires_a_secret_key_to_serve(tmp_path, monkeypatch, database_url):
    from lms import create_app
    from lms.config import resolve_secret_key

    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    settings = load_settings({"env": "production", "instance_dir": tmp_path, "database_url": database_url})
    with pytest.raises(ConfigError, match="LMS_SECRET_KEY"):
        resolve_secret_key(settings)
    app = create_app(settings)  # commands still work in a plain shell...
    response = app.test_client().get("/courses")  # ...but no page is served without the key
    assert response.status_code == 503 and b"LMS_SECRET_KEY is required" in response.data


def test_development_generates_a_private_key_once(tmp_path, monkeypatch):
    from lms.config import resolve_secret_key

    monkeypatch.delenv("LMS_SECRET_KEY", raising=False)
    settings = load_settings({"env": "development", "instance_dir": tmp_path})
    key = resolve_secret_key(settings)
    assert key == resolve_secret_key(settings)
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_uploads_and_media_folders_can_live_outside_the_instance(tmp_path, monkeypatch, database_url):
    """Several app nodes with instance folders of their own share these two (tests/test_two_nodes.py)."""
    from lms import create_app
    from lms.db import get_engine

    monkeypatch.delenv("LMS_UPLOADS_DIR", raising=False)
    monkeypatch.delenv("LMS_MEDIA_DIR", raising=False)
    default = load_settings({"instance_dir": tmp_path / "instance"})
    assert default.uploads_dir == tmp_path / "instance" / "uploads"
    assert default.media_dir == tmp_path / "instance" / "media"
    monkeypatch.setenv("LMS_UPLOADS_DIR", str(tmp_path / "shared" / "uploads"))
    monkeypatch.setenv("LMS_MEDIA_DIR", str(tmp_path / "shared" / "media"))
    settings = load_settings({"instance_dir": tmp_path / "instance", "database_url": database_url,
                              "secret_key": "k"})
    assert settings.uploads_dir == tmp_path / "shared" / "uploads"
    assert settings.media_dir == tmp_path / "shared" / "media"
    assert settings.with_overrides(instance_dir=tmp_path / "other").uploads_dir == settings.uploads_dir
    app = create_app(settings)
    assert app.extensions["lms.uploads"].root == tmp_path / "shared" / "uploads"
    get_engine(app).dispose()


def test_bad_environment_values_are_explained(monkeypatch):
    monkeypatch.setenv("LMS_ENV", "staging")
    with pytest.raises(ConfigError, match="LMS_ENV must be one of"):
        load_settings()
    monkeypatch.setenv("LMS_ENV", "development")
    monkeypatch.setenv("LMS_SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigError, match="LMS_SMTP_PORT must be a whole number"):
        load_settings()


def test_production_cookies_are_secure(tmp_path, database_url):
    from lms import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, database_url, env="production"))
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert not app.debug


def test_database_down_gives_a_503_page_not_a_500(tmp_path):
    """A database that cannot be reached (here: a file in a missing folder) answers 503."""
    from lms import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path}/missing/dir/db.sqlite"))
    response = app.test_client().get("/courses")
    assert response.status_code == 503
    assert "briefly unavailable" in response.get_data(as_text=True)


def test_pages_of_a_logged_in_user_are_not_cached_but_media_is(auth, client, make_user, make_course, db):
    from sqlalchemy import select

    from lms.catalog.models import MediaFile

    make_course("py")
    make_user("me@example.com")
    auth.login("me@example.com")
    assert client.get("/dashboard").headers["Cache-Control"] == "private, no-store"
    media = db.scalars(select(MediaFile)).one()
    assert "immutable" in client.get(f"/media/{media.sha256}.svg").headers["Cache-Control"]
