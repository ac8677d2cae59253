"""Downloading one's data: exactly the learner's own, files included, password and rate limit."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from lms.credentials.models import Credential
from tests.account_data.conftest import LEARNER_TEXT, OTHER_TEXT, SHARED_BYTES
from tests.conftest import PASSWORD


def _export(auth, password=PASSWORD):
    return auth.post("/account/export", {"password": password}, form_page="/account/export")


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.get_data()))


def test_export_holds_exactly_the_learners_data_and_files(db, auth, rich, store):
    r = rich()
    auth.login("learner@example.com")
    archive = _zip(_export(auth))
    names = set(archive.namelist())
    for area in ("profile", "enrollments", "quiz-attempts", "capstone-submissions", "credentials",
                 "notifications", "course-reviews", "review-cards"):
        assert f"{area}/data.json" in names
    read = {n: json.loads(archive.read(n)) for n in names if n.endswith(".json")}
    assert read["profile/data.json"]["email"] == "learner@example.com"
    assert read["profile/data.json"]["name"] == "Lee Learner"
    assert read["profile/data.json"]["email_choices"] == [
        {"kind": "submission_graded", "email": False, "updated_at": read["profile/data.json"]["email_choices"][0]
         ["updated_at"]}]
    assert {e["course"] for e in read["enrollments/data.json"]["items"]} == {"capstone-course", "quiz-course"}

    attempts = read["quiz-attempts/data.json"]["items"]
    assert len(attempts) == 1 and len(attempts[0]["answers"]) == 4
    assert {a["question"] for a in attempts[0]["answers"]}
    assert len(read["review-cards/data.json"]["items"]) == 2

    [submission] = read["capstone-submissions/data.json"]["items"]
    assert submission["text"] == LEARNER_TEXT
    assert submission["review"]["comment"] == "Reviewed: clear and careful."
    assert "grader" not in json.dumps(submission["review"]).lower()  # no grader identity
    for listed in submission["files"]:
        content = archive.read(listed["path"])
        assert hashlib.sha256(content).hexdigest() == listed["sha256"]
        assert len(content) == listed["size"]
    assert {f["name"] for f in submission["files"]} == {"trips.csv", "notes.txt"}
    assert archive.read(f"capstone-submissions/files/{r.shared_sha}/trips.csv") == SHARED_BYTES

    [credential] = read["credentials/data.json"]["items"]
    db.expire_all()
    stored = db.get(Credential, r.credential.id)
    assert read[credential["document"]] == stored.document  # the signed document, byte for byte as JSON
    assert [c["body"] for c in read["course-reviews/data.json"]["items"]] == ["Lee liked the bikes data."]
    assert read["notifications/data.json"]["items"]  # (the grading notification)

    # Nothing of the other learner, anywhere in the archive.
    everything = b"".join(archive.read(n) for n in names)
    for theirs in ("olga@example.com", "Olga Other", "Olga's own words", "same.csv"):
        assert theirs.encode() not in everything
    assert OTHER_TEXT.encode() not in everything
    assert b"grace" not in everything.lower()  # nor the grader's name or address


def test_export_needs_the_password(auth, rich):
    rich()
    auth.login("learner@example.com")
    response = _export(auth, "not my password")
    assert response.status_code == 403
    assert "That is not your password" in response.get_data(as_text=True)
    response = _export(auth, "")
    assert response.status_code == 422
    assert "Enter your password to continue." in response.get_data(as_text=True)


def test_exports_are_rate_limited(auth, make_user):
    make_user("learner@example.com")
    auth.login("learner@example.com")
    for _ in range(3):
        assert _export(auth).status_code == 200
    response = _export(auth)
    assert response.status_code == 429
    assert "Too many downloads of your data" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0


def test_export_of_an_empty_account(auth, make_user):
    make_user("new@example.com", name="New Person")
    auth.login("new@example.com")
    archive = _zip(_export(auth))
    assert json.loads(archive.read("enrollments/data.json")) == {"items": []}


def test_account_pages_need_login_and_are_linked(client, auth, make_user):
    assert client.get("/account").status_code in (302, 401)
    make_user("learner@example.com")
    auth.login("learner@example.com")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/account"' in page
    account = client.get("/account").get_data(as_text=True)
    assert "/account/export" in account and "/account/delete" in account
