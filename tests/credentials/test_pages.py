"""The credential's public page, its download, the holder's privacy switch, revocation, the verify page,
achievement pages, and the course staff's list with manual awards."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.credentials import services
from lms.credentials.issuance import _issue, signing_issuer
from lms.credentials.models import Credential, StatusList
from lms.credentials.status_list import decode, get_bit
from lms.credentials.verification import verify_credential
from lms.db import utcnow
from lms.errors import Forbidden
from lms.notifications.models import Notification
from tests.conftest import csrf_token, write_course


def _page(client, credential):
    return client.get(f"/credentials/{credential.public_id}")


def _statement_count(count_queries, client, url):
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


# -- the public page and the download -----------------------------------------------------------------

def test_the_public_page_shows_the_credential_to_anyone_in_two_statements(client, issued, count_queries):
    setup, credential = issued()
    page = _page(client, credential).get_data(as_text=True)
    name = credential.document["credentialSubject"]["achievement"]["name"]
    assert name in page and "Lee Learner" in page
    assert "Valid" in page and credential.public_id in page
    assert "Capstone: analyse the trips: Question and data" in page  # a rubric criterion's result
    assert "<td>Proficient</td><td>Proficient</td>" in page  # ... the level reached, and the one needed
    assert "testing" in page  # a skill
    assert "Download (JSON)" in page
    assert "Make this page private" not in page and "Revoke this credential" not in page
    # Not re-signed nor re-canonicalized per view: one statement for the credential, whatever it holds.
    assert _statement_count(count_queries, client, f"/credentials/{credential.public_id}") <= 2


def test_the_download_is_the_signed_document_exactly(client, issued):
    _setup, credential = issued()
    response = client.get(f"/credentials/{credential.public_id}.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith(f'-{credential.public_id}.json"')
    assert json.loads(response.data) == credential.document


def test_an_unknown_or_malformed_address_is_not_found(client, issued):
    issued()
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000").status_code == 404
    assert client.get("/credentials/not-a-uuid").status_code == 404
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000.json").status_code == 404


def test_the_holder_can_make_the_page_private_and_public_again(client, auth, db, issued, make_user):
    setup, credential = issued()
    url = f"/credentials/{credential.public_id}"
    auth.login(setup.learner.email)
    assert "Make this page private" in client.get(url).get_data(as_text=True)
    response = auth.post(f"{url}/visibility", {"public": "0"}, form_page=url)
    assert response.status_code == 302
    assert "This page is private" in client.get(url).get_data(as_text=True)  # the holder still sees it
    auth.logout()
    assert client.get(url).status_code == 404  # like a missing credential
    assert client.get(f"{url}.json").status_code == 404
    # Someone else cannot flip it.
    make_user("other@example.com")
    auth.login("other@example.com")
    assert auth.post(f"{url}/visibility", {"public": "1"}).status_code == 404
    auth.logout()
    auth.login(setup.learner.email)
    auth.post(f"{url}/visibility", {"public": "1"}, form_page=url)
    auth.logout()
    assert client.get(url).status_code == 200
    db.rollback()
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "credential")).all()
    assert actions == ["credential.private", "credential.public"]


def test_the_visibility_form_needs_its_csrf_token(client, auth, issued):
    setup, credential = issued()
    auth.login(setup.learner.email)
    response = client.post(f"/credentials/{credential.public_id}/visibility", data={"public": "0"})
    assert response.status_code == 400


# -- revocation ------------------------------------------------------------------------------------------

def _revoke(auth, credential, reason):
    url = f"/credentials/{credential.public_id}/revoke"
    return auth.post(url, {"reason": reason}, form_page=url)


def test_an_instructor_revokes_and_the_signed_list_and_the_page_say_so_at_once(app, client, auth, db, issued):
    setup, credential = issued()
    auth.login(setup.instructor.email)
    assert "Revoke this credential" in _page(client, credential).get_data(as_text=True)
    response = _revoke(auth, credential, "The capstone was found to be copied from another learner.")
    assert response.status_code == 302
    auth.logout()
    page = _page(client, credential).get_data(as_text=True)
    assert "Revoked on" in page and "copied from another learner" in page
    db.rollback()
    credential = db.get(Credential, credential.id)
    assert credential.revoked_by_id == setup.instructor.id
    listing = db.get(StatusList, credential.status_list_id)
    assert get_bit(decode(listing.document["credentialSubject"]["encodedList"]), credential.status_index)
    # The re-signed list is what the status route serves; verifiers see the revocation through it.
    served = client.get(f"/credentials/status/{listing.id}").get_json()
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    verdict = verify_credential(credential.document, issuer.resolve, fetch_status_list=lambda url: served)
    assert verdict.status == "revoked", verdict.reasons
    notice = db.scalar(select(Notification).where(Notification.user_id == setup.learner.id,
                                                  Notification.kind == "credential_revoked"))
    assert notice is not None and "copied" in notice.body
    assert db.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "credential.revoke")) == 1


def test_revoking_needs_a_reason_and_happens_once(client, auth, db, issued):
    setup, credential = issued()
    auth.login(setup.instructor.email)
    response = _revoke(auth, credential, "bad")
    assert response.status_code == 422
    assert "10 to 2000 characters" in response.get_data(as_text=True)
    db.rollback()
    assert db.get(Credential, credential.id).revoked_at is None
    _revoke(auth, credential, "Issued to the wrong account by mistake.")
    page = client.get(f"/credentials/{credential.public_id}/revoke").get_data(as_text=True)
    assert "was revoked on" in page
    with pytest.raises(services.Conflict):
        services.revoke(db, credential.public_id, setup.instructor.id, False, "Once more, to be sure.", utcnow())


def test_only_the_courses_instructors_and_admins_may_revoke(client, auth, db, issued, make_user):
    setup, credential = issued()
    url = f"/credentials/{credential.public_id}/revoke"
    auth.login(setup.grader.email)  # a grader of the course, not an instructor
    assert client.get(url).status_code == 403
    assert auth.post(url, {"reason": "A grader should not be able to do this."}).status_code == 403
    auth.logout()
    auth.login(setup.learner.email)
    assert client.get(url).status_code == 403
    auth.logout()
    assert client.get(url).status_code == 302  # to the login page
    db.rollback()
    assert db.get(Credential, credential.id).revoked_at is None
    with pytest.raises(Forbidden):
        services.revoke(db, credential.public_id, setup.grader.id, False, "Through the service instead.", utcnow())
    admin = make_user("admin@example.com", admin=True)
    services.revoke(db, credential.public_id, admin.id, True, "Revoked by an admin at the holder's request.", utcnow())
    db.commit()
    assert db.get(Credential, credential.id).revoked_at is not None


# -- the verify page -------------------------------------------------------------------------------------

def _verify(client, text=None, upload=None):
    data = {"csrf_token": csrf_token(client, "/verify")}
    if text is not None:
        data["document"] = text
    if upload is not None:
        data["upload"] = upload
    return client.post("/verify", data=data, content_type="multipart/form-data")


def test_the_verify_page_accepts_a_pasted_or_uploaded_credential(client, issued):
    _setup, credential = issued()
    page = _verify(client, json.dumps(credential.document)).get_data(as_text=True)
    assert "Valid credential" in page and "Lee Learner" in page
    assert "not revoked (checked against the issuer&#39;s status list)" in page
    assert f"/credentials/{credential.public_id}" in page  # a link to its page
    upload = (io.BytesIO(json.dumps(credential.document).encode()), "credential.json")
    assert "Valid credential" in _verify(client, upload=upload).get_data(as_text=True)


def test_a_tampered_credential_fails_on_the_verify_page(client, issued):
    _setup, credential = issued()
    tampered = copy.deepcopy(credential.document)
    tampered["credentialSubject"]["name"] = "Mallory Impostor"
    page = _verify(client, json.dumps(tampered)).get_data(as_text=True)
    assert "Not a valid credential" in page
    assert "Signature:</strong>\n      failed" in page
    assert "Mallory" not in page.split("verdict-heading")[1].split("<ul")[0]  # no summary of a forgery


def test_revoked_and_expired_credentials_show_as_such(client, db, app, courses_root, issued):
    write_course(courses_root, "capstone-course", modules=1, lessons=2,
                 extra_course_yml="credential:\n  valid_for_months: 1\n")
    setup, credential = issued()
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    past = utcnow() - timedelta(days=62)
    expired = _issue(db, issuer, setup.instructor.id, credential.achievement_id, credential.achievement_version_id,
                     past)
    db.commit()
    assert "Expired on" in _page(client, expired).get_data(as_text=True)
    verdict_page = _verify(client, json.dumps(expired.document)).get_data(as_text=True)
    assert "Expired" in verdict_page and "expired on" in verdict_page
    services.revoke(db, credential.public_id, setup.instructor.id, False, "Issued in error, see ticket 12.", utcnow())
    db.commit()
    assert "Revoked" in _verify(client, json.dumps(credential.document)).get_data(as_text=True)


@pytest.mark.parametrize(("text", "upload", "message"), [
    ("", None, "Paste the credential&#39;s JSON or upload its file."),
    ("not json at all", None, "That is not JSON (line 1, column 1"),
    ("[1, 2]", None, "a credential is a JSON object"),
    (None, (io.BytesIO(b""), "empty.json"), "The uploaded file is empty"),
    (None, (io.BytesIO(b"\x00\x01binary"), "thing.bin"), "upload the credential"),
])
def test_the_verify_page_explains_what_it_cannot_read(client, text, upload, message):
    response = _verify(client, text, upload)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_the_verify_page_is_throttled_per_client(client, app):
    for _ in range(30):
        _verify(client, "{}")
    response = _verify(client, "{}")
    assert response.status_code == 429
    assert "Too many checks" in response.get_data(as_text=True)


def test_the_verify_page_reads_no_status_list_of_another_host(db, app):
    read = services.own_status_lists(db, app.config["LMS_SETTINGS"].public_url)
    with pytest.raises(LookupError, match="only the status lists this platform publishes"):
        read("http://169.254.169.254/latest/meta-data")
    with pytest.raises(LookupError, match="no such status list"):
        read(f"{app.config['LMS_SETTINGS'].public_url}/credentials/status/999")


# -- achievements ----------------------------------------------------------------------------------------

def test_the_achievement_page_says_how_to_earn_it(client, issued):
    _setup, credential = issued()
    achievement = credential.document["credentialSubject"]["achievement"]
    path = achievement["id"].split("/achievements/")[1]
    page = client.get(f"/achievements/{path}").get_data(as_text=True)
    assert achievement["name"] in page and "How to earn it" in page and "/courses/capstone-course" in page
    assert client.get("/achievements/no-such-thing").status_code == 404


# -- course staff: the list, and awarding by hand ------------------------------------------------------

def test_instructors_list_their_courses_credentials_in_constant_statements(client, auth, db, app, issued,
                                                                            count_queries, make_user):
    setup, credential = issued()
    url = "/courses/capstone-course/credentials"
    auth.login(setup.instructor.email)
    page = client.get(url).get_data(as_text=True)
    assert "Lee Learner" in page and "1 credential." in page
    one = _statement_count(count_queries, client, url)
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    for n in range(3):
        user = make_user(f"more{n}@example.com", name=f"Learner {n}")
        _issue(db, issuer, user.id, credential.achievement_id, credential.achievement_version_id, utcnow())
    db.commit()
    assert _statement_count(count_queries, client, url) == one
    assert "4 credentials." in client.get(url).get_data(as_text=True)
    assert "Learner 2" in client.get(f"{url}?q=learner 2").get_data(as_text=True)
    assert "Lee Learner" not in client.get(f"{url}?q=learner 2").get_data(as_text=True)
    assert client.get(f"{url}?page=abc").status_code == 200
    auth.logout()
    auth.login(setup.grader.email)
    assert client.get(url).status_code == 403


def test_an_admin_awards_by_hand_with_a_written_waiver(client, auth, db, capstone_setup, make_user):
    setup = capstone_setup()  # the learner has not submitted anything
    make_user("admin@example.com", admin=True, name="Ada Admin")
    auth.login("admin@example.com")
    url = "/courses/capstone-course/credentials/award"
    waiver = "Passed the equivalent in-person workshop in October (certificate seen)."
    preview = auth.post(url, {"email": setup.learner.email, "waiver": waiver}, form_page=url)
    text = preview.get_data(as_text=True)
    assert "Award to Lee Learner?" in text and "Submit your capstone project" in text
    assert db.scalar(select(func.count(Credential.id))) == 0
    response = auth.post(url, {"email": setup.learner.email, "waiver": waiver, "confirm": "1"}, form_page=url)
    assert response.status_code == 302
    db.rollback()
    credential = db.scalar(select(Credential))
    assert credential.waiver == waiver and credential.user_id == setup.learner.id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "credential.award"))
    assert event.subject_id == credential.id and "Submit your capstone project" in event.data["waived"]
    again = auth.post(url, {"email": setup.learner.email, "waiver": waiver}, form_page=url)
    assert "already holds" in again.get_data(as_text=True)


@pytest.mark.parametrize(("email", "waiver", "message"), [
    ("nobody@example.com", "A long enough waiver text.", "No account uses the address"),
    ("learner@example.com", "short", "10 to 2000 characters"),
    ("", "A long enough waiver text.", "Enter the learner&#39;s email address."),
])
def test_a_manual_award_refuses_what_it_cannot_do(client, auth, db, capstone_setup, make_user, email, waiver,
                                                  message):
    capstone_setup()
    make_user("admin@example.com", admin=True)
    auth.login("admin@example.com")
    url = "/courses/capstone-course/credentials/award"
    response = auth.post(url, {"email": email, "waiver": waiver, "confirm": "1"}, form_page=url)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.rollback()
    assert db.scalar(select(func.count(Credential.id))) == 0


def test_instructors_cannot_award_by_hand(client, auth, db, capstone_setup):
    setup = capstone_setup()
    auth.login(setup.instructor.email)
    assert client.get("/courses/capstone-course/credentials/award").status_code == 403
    with pytest.raises(Forbidden):
        services.award_manually(db, setup.instructor.id, False, setup.course.id, setup.learner.email,
                                "An instructor trying through the service.", utcnow())


# -- sharing: LinkedIn, the QR code, the baked badge, the certificate ------------------------------------

def test_the_holder_gets_the_sharing_tools_and_others_do_not(client, auth, issued):
    setup, credential = issued()
    assert "Add to LinkedIn profile" not in _page(client, credential).get_data(as_text=True)
    auth.login(setup.learner.email)
    page = _page(client, credential).get_data(as_text=True)
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in page
    assert f"certId={credential.public_id}" in page
    assert "<svg" in page and "QR code linking to this credential" in page
    assert f"/credentials/{credential.public_id}/badge" in page and "Printable certificate" in page


def test_the_baked_badge_carries_the_credential_and_the_verify_page_reads_it(client, issued):
    from lms.credentials.sharing import unbake

    _setup, credential = issued()
    response = client.get(f"/credentials/{credential.public_id}/badge")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.mimetype in ("image/svg+xml", "image/png")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert unbake(response.data) == credential.document
    name = "badge.svg" if response.mimetype == "image/svg+xml" else "badge.png"
    page = _verify(client, upload=(io.BytesIO(response.data), name)).get_data(as_text=True)
    assert "Valid credential" in page and "Lee Learner" in page


def test_an_image_without_a_credential_is_explained_on_the_verify_page(client):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><title>t</title></svg>'
    response = _verify(client, upload=(io.BytesIO(svg), "plain.svg"))
    assert response.status_code == 422
    assert "That image has no credential baked into it" in response.get_data(as_text=True)
    bom_json = b"\xef\xbb\xbf" + b'{"not": "a credential"}'
    page = _verify(client, upload=(io.BytesIO(bom_json), "with-bom.json")).get_data(as_text=True)
    assert "Not a valid credential" in page


def test_the_printable_certificate(client, auth, db, issued):
    setup, credential = issued()
    page = client.get(f"/credentials/{credential.public_id}/certificate").get_data(as_text=True)
    assert "Lee Learner" in page and credential.document["credentialSubject"]["achievement"]["name"] in page
    assert credential.public_id in page and "<svg" in page
    auth.login(setup.learner.email)
    auth.post(f"/credentials/{credential.public_id}/visibility", {"public": "0"},
              form_page=f"/credentials/{credential.public_id}")
    auth.logout()
    assert client.get(f"/credentials/{credential.public_id}/certificate").status_code == 404
    assert client.get(f"/credentials/{credential.public_id}/badge").status_code == 404


def test_deeply_nested_json_is_refused_with_a_message(client):
    response = _verify(client, "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 422
    assert "nested far deeper than any credential" in response.get_data(as_text=True)
