"""Every /admin route is for admins only: others get 403 (anonymous visitors the login page), for
every method, before anything is read or changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.services import grant
from tests.conftest import Auth, csrf_token, write_course


def _admin_urls(app, user_id: int) -> list[tuple[str, str]]:
    values = {"user_id": user_id, "folder": "some-course", "event_id": 1}
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            assert app.view_functions[rule.endpoint].access_rule == "admin", rule.rule
            path = rule.rule
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", str(values[name])).replace(f"<{name}>", str(values[name]))
            urls += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return urls


def test_there_are_admin_routes_for_each_page(app):
    paths = {path for _method, path in _admin_urls(app, 1)}
    assert {"/admin", "/admin/users", "/admin/users/1", "/admin/courses", "/admin/courses/some-course/preview",
            "/admin/courses/some-course/sync", "/admin/users/1/roles", "/admin/users/1/roles/remove",
            "/admin/users/1/admin", "/admin/courses/some-course/syncs/1"} <= paths


@pytest.mark.parametrize("persona", ["anonymous", "learner", "grader", "instructor"])
def test_non_admins_are_refused_everywhere(app, db, client, make_user, make_course, courses_root, persona):
    course = make_course("some-course")
    write_course(courses_root, "some-course")
    target = make_user("target@example.com")
    if persona != "anonymous":
        user = make_user(f"{persona}@example.com")
        if persona in ("grader", "instructor"):
            grant(db, user, persona, course.slug)
            db.commit()
        Auth(client).login(user.email)
    for method, path in _admin_urls(app, target.id):
        data = {"course": "some-course", "role": "grader", "action": "grant", "content_hash": "0" * 64}
        if method == "POST":
            data["csrf_token"] = csrf_token(client, "/courses") if persona != "anonymous" else ""
        response = client.open(path, method=method, data=data)
        if persona == "anonymous":
            assert response.status_code in (302, 400), (method, path)  # login page; a POST without a token: 400
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]
        else:
            assert response.status_code == 403, (method, path, response.status_code)
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == (1 if persona in ("grader", "instructor")
                                                                     else 0)
    assert not db.get(type(target), target.id).is_admin
