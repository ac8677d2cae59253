"""Notification pages, email choices, one-click unsubscribe, and the unread count in the header."""

from __future__ import annotations

import re

from flask import url_for
from sqlalchemy import select

from lms.auth.models import User
from lms.jobs.models import Job
from lms.notifications import services
from lms.notifications.models import Notification
from tests.conftest import Auth, csrf_token


def _notify(db, user, n: int = 1, **kwargs) -> list[int]:
    ids = [services.notify(db, user.id, kwargs.pop("kind", "submission_graded"), f"Note {i}", f"Body {i}",
                           **kwargs).id for i in range(n)]
    db.commit()
    return ids


def test_the_pages_need_a_login(client):
    for url in ("/notifications", "/account/notifications"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_list_shows_newest_first_and_pages_back(auth, db, make_user):
    learner = make_user("list@example.com")
    _notify(db, learner, 22)
    auth.login("list@example.com")
    page = auth.client.get("/notifications").get_data(as_text=True)
    titles = re.findall(r"(Note \d+)</h2>", page)
    assert titles[:2] == ["Note 21", "Note 20"] and "Note 1<" not in page
    # HTML allows at most three digits of a second in datetime="": whole seconds it is.
    stamps = re.findall(r'<time datetime="([^"]+)"', page)
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", t) for t in stamps), stamps
    older = re.search(r'href="(/notifications\?before=\d+)"', page).group(1)
    page2 = auth.client.get(older).get_data(as_text=True)
    assert re.findall(r"(Note \d+)</h2>", page2) == ["Note 1", "Note 0"]
    assert auth.client.get("/notifications?before=abc").status_code == 200  # a bad cursor: the first page


def test_unread_count_in_the_header_and_marking_read(auth, db, make_user):
    learner = make_user("count@example.com")
    ids = _notify(db, learner, 3, link="/courses")
    auth.login("count@example.com")
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert 'href="/notifications">Notifications (3<span class="visually-hidden"> unread</span>)</a>' in page

    response = auth.post(f"/notifications/{ids[0]}/read", {"open": "1"}, form_page="/notifications")
    assert response.status_code == 302 and response.headers["Location"] == "/courses"
    assert "Notifications (2<" in auth.client.get("/dashboard").get_data(as_text=True)

    response = auth.post("/notifications/read-all", form_page="/notifications")
    assert response.status_code == 302
    page = auth.client.get("/notifications").get_data(as_text=True)
    assert "Marked 2 notifications as read." in page
    assert 'href="/notifications" aria-current="page">Notifications</a>' in page


def test_marking_needs_csrf_and_only_works_on_your_own(app, auth, db, make_user):
    owner = make_user("owner@example.com")
    make_user("other@example.com")
    [note_id] = _notify(db, owner)
    auth.login("other@example.com")
    assert auth.post(f"/notifications/{note_id}/read", form_page="/notifications").status_code == 404
    assert auth.client.post("/notifications/read-all").status_code == 400  # no CSRF token
    db.expire_all()
    assert services.unread_count(db, owner.id) == 1


def test_the_header_count_costs_no_sql_statement(app, auth, db, make_user, count_queries):
    busy = make_user("busy@example.com")
    make_user("quiet@example.com")
    _notify(db, busy, 5)

    def statements(client) -> tuple[int, str]:
        client.get("/courses")
        with count_queries() as counter:
            page = client.get("/courses").get_data(as_text=True)
        return counter.count, page

    auth.login("busy@example.com")
    busy_count, busy_page = statements(auth.client)
    other = app.test_client()
    Auth(other).login("quiet@example.com")
    quiet_count, quiet_page = statements(other)
    assert "Notifications (5<" in busy_page and "Notifications (" not in quiet_page
    assert busy_count == quiet_count
    with count_queries() as counter:
        auth.client.get("/courses")
    assert not [s for s in counter.statements if re.search(r"\bnotifications\b", s)]  # the table is never read
    # (The dashboard reads the newest unread ones, and only when the counter says there are some.)


def test_the_dashboard_lists_unread_notifications_to_dismiss(app, auth, db, make_user, count_queries):
    busy = make_user("busy@example.com")
    _notify(db, busy, 7)
    auth.login("busy@example.com")
    page = auth.client.get("/dashboard").get_data(as_text=True)
    assert page.count('<input type="hidden" name="next" value="/dashboard">') == 6  # five, and "Dismiss all"
    first = db.scalar(select(Notification.id).where(Notification.user_id == busy.id)
                      .order_by(Notification.id.desc()).limit(1))
    response = auth.post(f"/notifications/{first}/read", {"next": "/dashboard"}, form_page="/dashboard")
    assert response.location.endswith("/dashboard")
    db.expire_all()
    assert db.get(User, busy.id).unread_notifications == 6
    response = auth.post("/notifications/read-all", {"next": "/dashboard"}, form_page="/dashboard")
    assert response.location.endswith("/dashboard")
    quiet = auth.client.get("/dashboard").get_data(as_text=True)
    assert "New for you" not in quiet
    # Someone else's notification cannot be dismissed.
    other = make_user("other@example.com")
    _notify(db, other, 1)
    theirs = db.scalar(select(Notification.id).where(Notification.user_id == other.id))
    assert auth.post(f"/notifications/{theirs}/read", {"next": "/dashboard"}, form_page="/dashboard").status_code == 404


def test_the_header_link_is_the_list_page(app):
    with app.test_request_context():
        assert url_for("notifications.index") == "/notifications"  # base.html writes the path out


def test_preferences_save_checkboxes_per_kind(auth, db, make_user):
    learner = make_user("prefs@example.com")
    auth.login("prefs@example.com")
    page = auth.client.get("/account/notifications").get_data(as_text=True)
    assert "When my capstone is graded" in page
    assert "grading queue" not in page  # grader kinds only for graders
    assert 'name="email_submission_graded"' in page and "checked" in page

    response = auth.post("/account/notifications", {"email_grader_digest": "y"},  # tampered: not offered
                         form_page="/account/notifications")
    assert response.status_code == 302
    db.expire_all()
    choices = services.email_choices(db, learner.id)
    assert choices["submission_graded"] is False
    assert choices["grader_digest"] is True  # unchanged default, the extra field was ignored
    services.notify(db, learner.id, "submission_graded", "Graded", "Passed.")
    db.commit()
    assert db.scalars(select(Job).where(Job.kind == services.EMAIL_JOB)).all() == []

    auth.post("/account/notifications", {"email_submission_graded": "y"}, form_page="/account/notifications")
    db.expire_all()
    assert services.wants_email(db, learner.id, "submission_graded") is True
    assert auth.client.post("/account/notifications", data={}).status_code == 400  # no CSRF token


def test_graders_see_the_grader_kinds(auth, db, make_user, make_course):
    from lms.auth.models import User
    from lms.auth.services import grant

    grader = make_user("grader@example.com")
    grant(db, db.get(User, grader.id), "grader", make_course().slug)
    db.commit()
    auth.login("grader@example.com")
    page = auth.client.get("/account/notifications").get_data(as_text=True)
    assert "When a submission enters my grading queue" in page and "Daily digest" in page


def _token(app, user, kind="submission_graded") -> str:
    return services.unsubscribe_token(app.secret_key, user.id, kind)


def test_unsubscribe_get_only_asks(app, client, db, make_user):
    learner = make_user("ask@example.com")
    response = client.get(f"/unsubscribe/{_token(app, learner)}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "ask@example.com" in page and "When my capstone is graded" in page
    assert '<button class="button button-primary" type="submit">Unsubscribe</button>' in page
    db.expire_all()
    assert services.wants_email(db, learner.id, "submission_graded") is True


def test_unsubscribe_post_works_without_session_or_csrf(app, db, make_user):
    learner = make_user("click@example.com")
    fresh = app.test_client()  # a mail client: no cookie, no CSRF token
    response = fresh.post(f"/unsubscribe/{_token(app, learner)}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    db.expire_all()
    assert services.wants_email(db, learner.id, "submission_graded") is False
    assert fresh.post(f"/unsubscribe/{_token(app, learner)}").status_code == 200  # again: still fine
    assert "already gets no emails" in fresh.get(f"/unsubscribe/{_token(app, learner)}").get_data(as_text=True)


def test_bad_unsubscribe_links_get_a_clear_400(app, client, db, make_user):
    from lms.auth.services import Tokens

    learner = make_user("bad@example.com")
    good = _token(app, learner)
    tampered = good[:-3] + ("abc" if not good.endswith("abc") else "xyz")
    other_purpose = Tokens(app.secret_key).make("verify-email", {"uid": learner.id, "kind": "submission_graded"})
    for token in (tampered, "not-a-token", other_purpose, _token(app, learner, "gone_kind")):
        for method in (client.get, client.post):
            response = method(f"/unsubscribe/{token}")
            assert response.status_code == 400, (token, method)
            assert "This unsubscribe link cannot be used" in response.get_data(as_text=True)
    db.expire_all()
    assert services.wants_email(db, learner.id, "submission_graded") is True


def test_a_csrf_token_on_the_unsubscribe_form_is_harmless(app, auth, db, make_user):
    learner = make_user("withcsrf@example.com")
    auth.login("withcsrf@example.com")
    token = csrf_token(auth.client, "/notifications")
    response = auth.client.post(f"/unsubscribe/{_token(app, learner)}", data={"csrf_token": token})
    assert response.status_code == 200
