"""Every route declares who may use it, and each rule holds for every kind of visitor."""

from __future__ import annotations

import pytest

from lms.security import ACCESS_RULES, COURSE_SCOPED_RULES, access, rule_for_endpoint, verify_routes_declare_access
from tests.conftest import PASSWORD

# Expected outcome for each rule and persona: "ok" (the view runs), "login" (redirect to the
# login page), "forbidden" (403).
EXPECTED = {
    "public": {"anonymous": "ok", "learner": "ok", "other_learner": "ok", "grader": "ok", "instructor_elsewhere": "ok",
               "admin": "ok"},
    "login": {"anonymous": "login", "learner": "ok", "other_learner": "ok", "grader": "ok",
              "instructor_elsewhere": "ok", "admin": "ok"},
    "enrolled": {"anonymous": "login", "learner": "ok", "other_learner": "forbidden", "grader": "ok",
                 "instructor_elsewhere": "forbidden", "admin": "ok"},
    "course_grader": {"anonymous": "login", "learner": "forbidden", "other_learner": "forbidden", "grader": "ok",
                      "instructor_elsewhere": "forbidden", "admin": "ok"},
    "course_instructor": {"anonymous": "login", "learner": "forbidden", "other_learner": "forbidden",
                          "grader": "forbidden", "instructor_elsewhere": "forbidden", "admin": "ok"},
    "admin": {"anonymous": "login", "learner": "forbidden", "other_learner": "forbidden", "grader": "forbidden",
              "instructor_elsewhere": "forbidden", "admin": "ok"},
}


def test_every_route_declares_an_access_rule(app):
    undeclared = [r.rule for r in app.url_map.iter_rules() if rule_for_endpoint(app, r.endpoint) is None]
    assert undeclared == []
    declared = {rule_for_endpoint(app, r.endpoint) for r in app.url_map.iter_rules()}
    assert declared <= set(ACCESS_RULES)


def test_app_refuses_to_start_with_an_undeclared_route(app):
    app.add_url_rule("/sneaky", "sneaky", lambda: "hi")
    with pytest.raises(RuntimeError, match="/sneaky"):
        verify_routes_declare_access(app)


def test_course_rules_need_a_course_in_the_url(app):
    app.add_url_rule("/staff-only", "staff_only", access("course_grader")(lambda: "hi"))
    with pytest.raises(RuntimeError, match="course_slug"):
        verify_routes_declare_access(app)


def test_unknown_rule_is_rejected_at_import_time():
    with pytest.raises(ValueError):
        access("everyone-please")


@pytest.fixture
def probe_app(app):
    """The real app plus one probe route per rule, so each rule is checked through the real hook."""
    for rule in ACCESS_RULES:
        path = f"/probe/{rule}" + ("/<course_slug>" if rule in COURSE_SCOPED_RULES else "")
        app.add_url_rule(path, f"probe_{rule}", access(rule)(lambda course_slug=None, rule=rule: f"probe {rule}"))
    return app


@pytest.fixture
def personas(db, make_user, make_course, enroll):
    from lms.auth.services import grant

    course = make_course("access-course")
    make_course("other-course")
    people = {
        "learner": make_user("learner@example.com"),
        "other_learner": make_user("other@example.com"),
        "grader": make_user("grader@example.com"),
        "instructor_elsewhere": make_user("instructor@example.com"),
        "admin": make_user("admin@example.com", admin=True),
    }
    enroll(people["learner"], course)
    grant(db, people["grader"], "grader", "access-course")
    grant(db, people["instructor_elsewhere"], "instructor", "other-course")
    db.commit()
    return people


@pytest.mark.parametrize("persona", ["anonymous", "learner", "other_learner", "grader", "instructor_elsewhere",
                                     "admin"])
def test_each_rule_for_each_persona(probe_app, personas, persona):
    client = probe_app.test_client()
    if persona != "anonymous":
        from tests.conftest import Auth

        assert Auth(client).login(personas[persona].email, PASSWORD).status_code == 302
    for rule, expectations in EXPECTED.items():
        path = f"/probe/{rule}" + ("/access-course" if rule in COURSE_SCOPED_RULES else "")
        response = client.get(path)
        outcome = {200: "ok", 403: "forbidden"}.get(response.status_code, "other")
        if response.status_code == 302 and "/login" in response.headers["Location"]:
            outcome = "login"
        assert outcome == expectations[persona], f"{rule} for {persona}: got {response.status_code}"


def test_course_rule_on_unknown_course_is_404(probe_app, personas):
    from tests.conftest import Auth

    client = probe_app.test_client()
    Auth(client).login("admin@example.com")
    assert client.get("/probe/enrolled/no-such-course").status_code == 404
