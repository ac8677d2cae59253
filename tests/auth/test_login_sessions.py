"""Login sessions (migration 0015): the session cookie names a row, so logging out, "sign out everywhere
else", a password reset and deleting the account end a session for every copy of its cookie."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from lms.account_data.services import CONFIRMATION
from lms.auth.models import LoginSession
from lms.auth.services import SESSION_LIFETIME, prune_sessions
from lms.db import utcnow
from tests.auth.test_views import _last_mail, _link
from tests.conftest import PASSWORD, Auth, csrf_token

COOKIE = "skillmark_session"


def _copy_cookie(source, target) -> None:
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)


def _logged_in(client) -> bool:
    return client.get("/dashboard").status_code == 200


def _rows(db):
    db.rollback()
    return db.scalars(select(LoginSession).order_by(LoginSession.id)).all()


def test_a_copy_of_the_cookie_stops_working_at_logout(app, auth, client, db, make_user):
    make_user("me@example.com")
    auth.login("me@example.com")
    stolen = app.test_client()
    _copy_cookie(client, stolen)
    assert _logged_in(stolen)  # the same session, as a copy of the cookie is
    auth.logout()
    assert not _logged_in(client)
    assert not _logged_in(stolen)  # before: valid until 31 days old
    [row] = _rows(db)
    assert row.ended_at is not None


def test_the_database_holds_only_the_tokens_hash(auth, client, db, make_user):
    make_user("me@example.com")
    auth.login("me@example.com")
    [row] = _rows(db)
    token = client.get_cookie(COOKIE).value
    assert row.token_hash not in token and len(row.token_hash) == 64


def test_signing_out_everywhere_else_keeps_this_browser(app, auth, client, db, make_user):
    make_user("me@example.com", name="Me")
    laptop, phone = client, app.test_client()
    auth.login("me@example.com")
    Auth(phone).login("me@example.com")
    page = laptop.get("/account").get_data(as_text=True)
    assert "You are signed in on 2 browsers or devices" in page
    done = laptop.post("/account/sessions/end-others", data={"csrf_token": csrf_token(laptop, "/account")},
                       follow_redirects=True)
    assert "Signed out of 1 other browser." in done.get_data(as_text=True)
    assert _logged_in(laptop) and not _logged_in(phone)
    assert "Only in this browser." in laptop.get("/account").get_data(as_text=True)
    Auth(phone).login("me@example.com")
    expired = laptop.post("/account/sessions/end-others", data={"csrf_token": "stale"})
    assert expired.status_code == 400  # the app's page for a form whose token expired
    assert _logged_in(laptop) and _logged_in(phone)


def test_a_password_reset_ends_every_session_and_starts_one(app, client, db, make_user):
    make_user("me@example.com")
    phone = app.test_client()
    Auth(phone).login("me@example.com")
    client.post("/forgot-password",
                data={"email": "me@example.com", "csrf_token": csrf_token(client, "/forgot-password")})
    link = _link(_last_mail(db, "me@example.com"))
    assert client.post(link, data={"password": "a brand new passphrase",
                                   "csrf_token": csrf_token(client, link)}).status_code == 302
    assert _logged_in(client) and not _logged_in(phone)
    assert [row.ended_at is None for row in _rows(db)] == [False, True]


def test_a_session_older_than_the_lifetime_is_refused_and_pruned(auth, client, db, make_user):
    make_user("me@example.com")
    auth.login("me@example.com")
    now = utcnow()
    db.execute(update(LoginSession).values(started_at=now - SESSION_LIFETIME - timedelta(minutes=1)))
    db.commit()
    assert not _logged_in(client)
    auth.login("me@example.com")
    auth.logout()
    auth.login("me@example.com")  # one too old, one ended, one live
    assert prune_sessions(db, utcnow()) == 2
    db.commit()
    assert [row.ended_at for row in _rows(db)] == [None]
    assert _logged_in(client)


def test_a_cookie_from_before_login_sessions_logs_nobody_in(app, db, make_user):
    """An id of the old form ("<user>:<password stamp>", no token) is refused: the upgrade logs everyone
    out once."""
    from lms.auth.services import load_session_user

    user = make_user("me@example.com")
    stamp = int(user.password_changed_at.timestamp() * 1000)
    assert load_session_user(db, f"{user.id}:{stamp}") is None
    assert load_session_user(db, f"{user.id}:{stamp}:not-a-token") is None
    assert load_session_user(db, "x:y:z") is None


def test_deleting_the_account_deletes_its_sessions(auth, client, db, make_user):
    make_user("me@example.com")
    auth.login("me@example.com")
    response = client.post("/account/delete", data={"password": PASSWORD, "confirmation": CONFIRMATION,
                                                    "csrf_token": csrf_token(client, "/account/delete")})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    db.rollback()
    assert db.scalar(select(func.count(LoginSession.id))) == 0
    assert not _logged_in(client)
