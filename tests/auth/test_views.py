"""Registration, login, logout, email verification and password reset through the web."""

from __future__ import annotations

import re
import time

from sqlalchemy import select

from lms.auth.models import User
from lms.jobs.models import Job
from tests.conftest import PASSWORD, csrf_token


def _register(client, email="new@example.com", name="New Learner", password=PASSWORD, **extra):
    return client.post("/register", data={"email": email, "name": name, "password": password,
                                          "csrf_token": csrf_token(client, "/register"), **extra})


def _last_mail(db, to: str) -> Job | None:
    """The newest "mail.send" job to this address (mail is a job in the outbox; see lms.jobs)."""
    db.rollback()
    mails = db.scalars(select(Job).where(Job.kind == "mail.send").order_by(Job.id.desc()))
    return next((job for job in mails if job.payload["to"] == to), None)


def _link(message: Job) -> str:
    return re.search(r"http://localhost(/\S+)", message.payload["body"]).group(1)


def test_register_logs_in_and_sends_a_verification_link(client, db):
    response = _register(client, email="  New@Example.COM ")
    assert response.status_code == 302
    user = db.scalar(select(User).where(User.email == "new@example.com"))
    assert user is not None and user.email_verified_at is None
    assert client.get("/dashboard").status_code == 200
    message = _last_mail(db, "new@example.com")
    assert message.done_at is not None  # delivered (to the log) after the commit
    assert client.get(_link(message)).status_code == 302
    db.rollback()
    assert db.get(User, user.id).email_verified_at is not None


def test_register_rejects_bad_input_next_to_the_fields(client, db):
    response = _register(client, email="not-an-email", name="", password="short")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a valid email address" in page
    assert "Enter your name." in page
    assert "Use 10 to 200 characters." in page
    assert 'aria-invalid="true"' in page
    assert db.scalar(select(User.id)) is None


def test_register_duplicate_email_says_so_and_creates_nothing(client, db, make_user):
    make_user("taken@example.com")
    response = _register(client, email="TAKEN@example.com")
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    db.rollback()
    assert len(db.scalars(select(User)).all()) == 1


def test_register_without_csrf_token_is_refused(client, db):
    response = client.post("/register", data={"email": "x@example.com", "name": "X", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert db.scalar(select(User.id)) is None


def test_login_failure_message_is_the_same_for_unknown_email_and_wrong_password(auth, make_user):
    make_user("known@example.com")
    wrong_password = auth.login("known@example.com", "wrong password!!")
    unknown = auth.login("nobody@example.com", "wrong password!!")
    assert wrong_password.status_code == unknown.status_code == 401
    message = "That email and password do not match an account."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_login_then_logout(auth, client, make_user):
    make_user("me@example.com")
    assert auth.login("ME@example.com").status_code == 302
    assert client.get("/dashboard").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/dashboard").status_code == 302


def test_login_redirects_only_within_the_site(auth, make_user):
    make_user("me@example.com")
    response = auth.login("me@example.com", next_url="https://evil.example/phish")
    assert response.headers["Location"] == "/dashboard"
    auth.logout()
    for hostile in ("//evil.example", "/\\evil.example", "javascript:alert(1)"):
        assert auth.login("me@example.com", next_url=hostile).headers["Location"] == "/dashboard"
        auth.logout()
    assert auth.login("me@example.com", next_url="/courses?q=x").headers["Location"] == "/courses?q=x"


def test_login_is_throttled_per_account_with_a_wait_time(auth, make_user):
    make_user("target@example.com")
    for _ in range(5):
        assert auth.login("target@example.com", "wrong password!!").status_code == 401
    blocked = auth.login("target@example.com", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert re.search(r"Try again in \d+ seconds", blocked.get_data(as_text=True))
    assert int(blocked.headers["Retry-After"]) > 0


def test_login_is_throttled_per_client_address(auth, make_user):
    for n in range(20):
        auth.login(f"person{n}@example.com", "wrong password!!")
    assert auth.login("someone-else@example.com", "wrong password!!").status_code == 429


def test_registration_is_throttled_per_address(client):
    for n in range(10):
        _register(client, email=f"r{n}@example.com")
        client.post("/logout", data={"csrf_token": csrf_token(client, "/courses")})
    response = _register(client, email="one-more@example.com")
    assert response.status_code == 429
    assert "Try again in" in response.get_data(as_text=True)


def test_session_cookie_flags(auth, client, make_user):
    make_user("me@example.com")
    response = auth.login("me@example.com")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(client, db, make_user):
    make_user("real@example.com")
    pages = []
    for email in ("real@example.com", "ghost@example.com"):
        response = client.post("/forgot-password", data={"email": email,
                                                         "csrf_token": csrf_token(client, "/forgot-password")})
        assert response.status_code == 200
        pages.append(response.get_data(as_text=True).replace(email, "EMAIL"))
    assert pages[0] == pages[1]
    assert _last_mail(db, "real@example.com") is not None
    assert _last_mail(db, "ghost@example.com") is None


def test_password_reset_link_works_once(client, db, make_user, auth):
    make_user("reset@example.com")
    client.post("/forgot-password", data={"email": "reset@example.com",
                                          "csrf_token": csrf_token(client, "/forgot-password")})
    link = _link(_last_mail(db, "reset@example.com"))
    weak = client.post(link, data={"password": "short", "csrf_token": csrf_token(client, link)})
    assert weak.status_code == 422
    done = client.post(link, data={"password": "a brand new passphrase", "csrf_token": csrf_token(client, link)})
    assert done.status_code == 302
    again = client.get(link)
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)
    auth.logout()
    assert auth.login("reset@example.com", "a brand new passphrase").status_code == 302


def test_password_reset_logs_out_other_sessions(app, db, make_user, hasher):
    from lms.auth.services import set_password
    from tests.conftest import Auth

    user = make_user("two@example.com")
    phone = app.test_client()
    Auth(phone).login("two@example.com")
    assert phone.get("/dashboard").status_code == 200
    time.sleep(0.002)
    set_password(hasher, db.get(User, user.id), "another long passphrase")
    db.commit()
    assert phone.get("/dashboard").status_code == 302


def test_expired_and_tampered_links_are_explained(client, app, make_user):
    from lms.auth.services import Tokens

    user = make_user("v@example.com", verified=False)
    tokens = Tokens(app.secret_key)
    token = tokens.make("verify-email", {"uid": user.id, "email": user.email})
    tampered = client.get(f"/verify-email/{token[:-3]}abc")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    reset_token = tokens.make("reset-password", {"uid": user.id, "pwc": "2000-01-01T00:00:00.000000+00:00"})
    used = client.get(f"/reset-password/{reset_token}")
    assert used.status_code == 400


def test_expired_verification_link(app, make_user, monkeypatch):
    from lms.auth import services

    user = make_user("late@example.com", verified=False)
    token = services.Tokens(app.secret_key).make("verify-email", {"uid": user.id, "email": user.email})
    monkeypatch.setattr(services, "VERIFY_MAX_AGE", -1)
    response = app.test_client().get(f"/verify-email/{token}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_resend_verification(auth, client, db, make_user):
    make_user("unverified@example.com", verified=False)
    auth.login("unverified@example.com")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Confirm your email address" in page
    response = auth.post("/verify-email/resend", form_page="/dashboard")
    assert response.status_code == 302
    assert _last_mail(db, "unverified@example.com") is not None
