"""Nothing a user types produces a 500: every route with odd arguments, every form with odd values."""

from __future__ import annotations

import pytest

from tests.conftest import Auth, csrf_token

ODD_VALUES = ["x", "%00", "..%2F..%2Fetc", "ünïcødé", "a" * 300, "<script>", "1' OR '1'='1", "-1"]
FORMS = {
    "/register": ["name", "email", "password", "next"],
    "/login": ["email", "password", "next"],
    "/forgot-password": ["email"],
}
ODD_FORM_VALUES = ["", " ", "\x00", "a" * 5000, "ünïcødé@exämple.com", "@", "a@b", "<b>x</b>", "\r\n"]


@pytest.fixture
def populated(db, make_user, make_course, enroll):
    course = make_course("py")
    enroll(make_user("learner@example.com"), course)
    make_user("admin@example.com", admin=True)
    return course


@pytest.mark.parametrize("who", ["anonymous", "learner@example.com", "admin@example.com"])
def test_every_route_with_odd_arguments(app, populated, who):
    client = app.test_client()
    if who != "anonymous":
        Auth(client).login(who)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for value in ODD_VALUES:
            args = {name: ("py" if name == "course_slug" and value == "x" else value) for name in rule.arguments}
            url = rule.rule
            for name, arg in args.items():
                url = url.replace(f"<{name}>", arg)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url + "?q=" + value + "&level=" + value + "&next=" + value, method=method)
                assert response.status_code < 500, f"{method} {url} -> {response.status_code}"


@pytest.mark.parametrize("url", list(FORMS))
def test_forms_with_odd_values(app, populated, url):
    client = app.test_client()
    for value in ODD_FORM_VALUES:
        data = {field: value for field in FORMS[url]}
        data["csrf_token"] = csrf_token(client, url)
        response = client.post(url, data=data)
        assert response.status_code < 500, f"{url} with {value!r} -> {response.status_code}"


def test_oversized_request_is_refused_with_a_413_page(client):
    response = client.post("/login", data={"email": "a" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_odd_query_strings_on_the_catalog(client, populated):
    for query in ("%", "_", "\\", "a" * 1000):
        assert client.get("/courses", query_string={"q": query}).status_code == 200
    nul = client.get("/courses", query_string={"q": "a\x00b"})
    assert nul.status_code == 400 and "NUL character" in nul.get_data(as_text=True)
