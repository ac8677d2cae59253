"""Deleting one's account: one transaction, personal data gone, credentials revoked, files counted."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from lms.account_data import services
from lms.audit.models import AuditEvent
from lms.auth.models import CourseRole, User
from lms.capstones.models import Review, Submission
from lms.credentials import status_list
from lms.credentials.models import Credential, StatusList
from lms.db import Base, utcnow
from lms.notifications.models import Notification
from tests.account_data.conftest import age_files
from tests.conftest import PASSWORD

CONFIRM = services.CONFIRMATION


def _delete(auth, password=PASSWORD, confirmation=CONFIRM):
    return auth.post("/account/delete", {"password": password, "confirmation": confirmation},
                     form_page="/account/delete")


def _rows_mentioning(db, *needles: str) -> list[str]:
    """Every row of every table whose text contains one of ``needles`` (case-insensitive)."""
    found = []
    for table in Base.metadata.sorted_tables:
        for row in db.execute(table.select()).mappings():
            blob = json.dumps({k: v for k, v in row.items()}, default=str, ensure_ascii=False).lower()
            blob_escaped = json.dumps({k: v for k, v in row.items()}, default=str).lower()
            for needle in needles:
                if needle.lower() in blob or needle.lower() in blob_escaped:
                    found.append(f"{table.name}: {needle!r} in {blob[:300]}")
    return found


def _audit(db):
    return [(e.id, e.action, e.subject_type, e.subject_id, e.actor_id, json.dumps(e.data, sort_keys=True))
            for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_deletion_erases_personal_data_everywhere(db, client, auth, rich, store):
    r = rich()
    db.expire_all()
    # The search can fail: before the deletion the learner's name and email are in many tables.
    assert len(_rows_mentioning(db, "learner@example.com", "Lee Learner", "Lee's own words")) >= 3
    audit_before = _audit(db)
    grader_unread_before = db.get(User, r.setup.grader.id).unread_notifications
    assert db.scalar(select(Notification.id).where(Notification.user_id == r.setup.grader.id,
                                                   Notification.body.contains("Lee Learner"))) is not None

    auth.login("learner@example.com")
    response = _delete(auth)
    assert response.status_code == 302
    db.rollback()
    db.expire_all()

    assert _rows_mentioning(db, "learner@example.com", "Lee Learner", "Lee's own words", "Lee liked",
                            "Lee's private notes") == []
    user = db.get(User, r.learner.id)
    assert user.deleted_at is not None and user.name == services.DELETED_NAME
    assert user.email == services.tombstone_email(user.id)
    # The other learner is untouched; the grader lost the notification about the deleted learner.
    assert db.scalar(select(Submission.text).where(Submission.id == r.other_submission.id)).endswith(
        "weekend casual riders dominate.\n")
    grader = db.get(User, r.setup.grader.id)
    assert grader.unread_notifications == grader_unread_before - 1
    assert grader.unread_notifications == db.scalar(
        text("SELECT count(*) FROM notifications WHERE user_id = :u AND read_at IS NULL"), {"u": grader.id})

    # The audit log: every earlier event unchanged; new ones hold ids and counts only.
    audit_after = _audit(db)
    assert audit_after[:len(audit_before)] == audit_before
    new = audit_after[len(audit_before):]
    assert {a[1] for a in new} == {"account.erased", "credential.revoke"}
    assert [a for a in new if a[1] == "account.erased"][0][3] == r.learner.id

    # Logged out; the address can register again.
    assert client.get("/dashboard").status_code == 302
    page = client.get("/register")
    assert page.status_code == 200
    from tests.conftest import csrf_token  # noqa: PLC0415

    again = client.post("/register", data={"name": "Lee Again", "email": "learner@example.com",
                                           "password": PASSWORD, "csrf_token": csrf_token(client, "/register")})
    assert again.status_code == 302
    db.rollback()
    db.expire_all()
    assert db.scalar(select(User.id).where(User.email == "learner@example.com")) != r.learner.id


def test_credentials_are_revoked_for_holder_request_and_the_page_shows_no_name(db, client, auth, rich):
    r = rich()
    public_id = r.credential.public_id
    assert "Lee Learner" in client.get(f"/credentials/{public_id}").get_data(as_text=True)
    auth.login("learner@example.com")
    response = _delete(auth)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    credential = db.get(Credential, r.credential.id)
    assert credential.revoke_reason == "holder request" and credential.revoked_at is not None
    listing = db.get(StatusList, credential.status_list_id)
    assert status_list.get_bit(listing.bits, credential.status_index)
    # The published list (what verifiers fetch) says so too.
    published = client.get(f"/credentials/status/{listing.id}").get_json()
    encoded = published["credentialSubject"]["encodedList"]
    assert status_list.get_bit(status_list.decode(encoded), credential.status_index)
    assert "Lee" not in json.dumps(credential.document) and "proof" not in credential.document
    assert "evidence" not in credential.document

    page = client.get(f"/credentials/{public_id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Revoked on" in body and "holder request" in body
    assert "Lee" not in body and ".json" not in body
    for suffix in (".json", "/badge", "/certificate"):
        assert client.get(f"/credentials/{public_id}{suffix}").status_code == 410


def test_shared_files_stay_until_their_last_reference_goes(db, client, auth, rich, store):
    r = rich()
    age_files(store, r.own_sha, r.shared_sha)
    auth.login("learner@example.com")
    assert _delete(auth).status_code == 302
    assert not store.exists(r.own_sha)  # only the deleted learner had it
    assert store.exists(r.shared_sha)  # the other learner's version still lists it
    auth.login("olga@example.com")
    assert _delete(auth).status_code == 302
    assert not store.exists(r.shared_sha)


def test_a_file_uploaded_moments_ago_is_left_for_the_sweep(db, auth, rich, store):
    r = rich()  # (files just written: younger than the grace period)
    auth.login("learner@example.com")
    assert _delete(auth).status_code == 302
    assert store.exists(r.own_sha)


def test_a_failure_midway_rolls_everything_back(db, app, rich, store, monkeypatch):
    r = rich()
    age_files(store, r.own_sha, r.shared_sha)
    db.expire_all()
    listing = db.get(StatusList, r.credential.status_list_id)
    bits_before, document_before = bytes(listing.bits), dict(db.get(Credential, r.credential.id).document)
    audit_before = _audit(db)

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after the credentials were revoked")

    monkeypatch.setattr(services.course_reviews, "delete_reviews_of_user", boom)
    with app.app_context(), pytest.raises(RuntimeError):
        services.erase_account(db, r.learner.id, utcnow())
    db.rollback()
    db.expire_all()
    user = db.get(User, r.learner.id)
    assert user.email == "learner@example.com" and user.deleted_at is None
    credential = db.get(Credential, r.credential.id)
    assert credential.revoked_at is None and credential.document == document_before
    assert bytes(db.get(StatusList, listing.id).bits) == bits_before
    assert db.get(Submission, r.submission.id) is not None
    assert store.exists(r.own_sha) and store.exists(r.shared_sha)
    assert _audit(db) == audit_before


def test_wrong_password_and_missing_confirmation_say_what_to_do(db, auth, make_user):
    make_user("learner@example.com")
    auth.login("learner@example.com")
    response = _delete(auth, password="wrong password")
    assert response.status_code == 403
    assert "That is not your password" in response.get_data(as_text=True)
    response = _delete(auth, confirmation="")
    assert response.status_code == 422
    assert f"Type “{CONFIRM}” in this box to confirm." in response.get_data(as_text=True)
    response = _delete(auth, confirmation="delete")
    assert response.status_code == 422
    assert "nothing was deleted" in response.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert db.scalar(select(User.deleted_at).where(User.email == "learner@example.com")) is None
    # "Delete My  Account" is accepted (case and spacing are not the point).
    assert _delete(auth, confirmation="Delete My  Account").status_code == 302


def test_wrong_passwords_are_throttled(auth, make_user):
    make_user("learner@example.com")
    auth.login("learner@example.com")
    for _ in range(5):
        assert _delete(auth, password="wrong password").status_code == 403
    response = _delete(auth, password=PASSWORD)
    assert response.status_code == 429


def test_the_last_admin_cannot_delete_their_account(db, auth, make_user):
    make_user("admin@example.com", name="Ada Admin", admin=True)
    auth.login("admin@example.com")
    response = _delete(auth)
    assert response.status_code == 409
    assert "You are the only admin of this site" in response.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert db.scalar(select(User.deleted_at).where(User.email == "admin@example.com")) is None
    make_user("second@example.com", name="Sam Second", admin=True)
    assert _delete(auth).status_code == 302


def test_a_grader_deletes_themselves_and_their_reviews_stay(db, client, auth, rich):
    r = rich()
    grader_id = r.setup.grader.id
    auth.login(f"grader-{r.setup.course.slug}@example.com")
    assert _delete(auth).status_code == 302
    db.rollback()
    db.expire_all()
    review = db.scalar(select(Review).where(Review.submission_id == r.submission.id))
    assert review is not None and review.grader_id == grader_id and review.comment
    assert db.get(User, grader_id).name == services.DELETED_NAME
    assert db.scalar(select(CourseRole.id).where(CourseRole.user_id == grader_id)) is None
    assert _rows_mentioning(db, "Grace Grader", f"grader-{r.setup.course.slug}@example.com") == []
    assert db.get(Credential, r.credential.id).revoked_at is None  # the learner's credential stands
    from lms.capstones.paths import capstone_path  # noqa: PLC0415

    auth.login("learner@example.com")
    page = client.get(capstone_path(r.setup.course.slug))
    assert page.status_code == 200
    assert "Reviewed: clear and careful." in page.get_data(as_text=True)


def test_a_graders_claim_goes_back_to_the_queue(db, auth, rich):
    from lms.capstones import services as capstones  # noqa: PLC0415

    r = rich()
    capstones.claim(db, r.other_submission.id, r.setup.grader.id)
    db.commit()
    auth.login(f"grader-{r.setup.course.slug}@example.com")
    assert _delete(auth).status_code == 302
    db.rollback()
    db.expire_all()
    submission = db.get(Submission, r.other_submission.id)
    assert submission.state == "submitted" and submission.claimed_by_id is None


def test_deletion_statements_do_not_grow_with_the_rows(db, app, make_user, capstone_setup, store, count_queries):
    from lms.notifications.services import notify  # noqa: PLC0415
    from tests.account_data.conftest import grade, submit_capstone  # noqa: PLC0415

    def learner_with(notifications: int, files: int, email: str):
        setup = capstone_setup(slug=f"course-{email.split('@', maxsplit=1)[0]}", learner_email=email)
        submission, _ = submit_capstone(db, setup, store, "x " * 30 + "\n## Summary\n\n## Cleaning log\n",
                                        [(f"f{n}.txt", f"{email} {n}\n".encode()) for n in range(files)])
        grade(db, setup, submission)
        for n in range(notifications):
            notify(db, setup.learner.id, "nudge", f"Note {n}", "Keep going.")
        db.commit()
        return setup.learner

    small = learner_with(1, 1, "small@example.com")
    big = learner_with(30, 3, "big@example.com")
    counts = []
    for learner in (small, big):
        with app.app_context(), count_queries() as counter:
            services.erase_account(db, learner.id, utcnow())
            db.commit()
        counts.append(counter.count)
    print("deletion statements", counts)
    assert counts[0] == counts[1], counts
    assert counts[0] < 40, counts


def test_staff_pages_still_work_after_a_learner_is_deleted(db, client, auth, rich):
    r = rich()
    slug = r.setup.course.slug
    auth.login("learner@example.com")
    assert _delete(auth).status_code == 302
    auth.login(f"instructor-{slug}@example.com")
    issued = client.get(f"/courses/{slug}/credentials")
    assert issued.status_code == 200
    body = issued.get_data(as_text=True)
    assert services.DELETED_NAME in body and "deleted.invalid" not in body and "Lee" not in body
    for url in ("/grading", f"/courses/{slug}", f"/courses/{slug}/reviews", "/teach", f"/teach/{slug}"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "Lee Learner" not in page.get_data(as_text=True), url


def test_outbox_mail_addressed_to_or_naming_the_account(db, app, make_user):
    from lms.jobs.models import Job  # noqa: PLC0415
    from lms.mail.services import queue_mail  # noqa: PLC0415

    learner = make_user("zoe_x@example.com", name="Zoë Ávila")
    make_user("zoeyx@example.com", name="Zoë Ávila")  # a namesake; "_" must not match as a LIKE wildcard
    jobs = [queue_mail(db, "zoe_x@example.com", "Welcome", "Hello Zoë Ávila"),
            queue_mail(db, "zoeyx@example.com", "Welcome", "Hello Zoë Ávila"),
            queue_mail(db, "grader@example.com", "Digest", "Zoë Ávila submitted")]
    db.flush()
    to_learner, to_namesake, sent_naming = (job.id for job in jobs)
    sent = db.get(Job, sent_naming)
    sent.attempts, sent.done_at = 1, utcnow()
    db.commit()
    with app.app_context():
        services.erase_account(db, learner.id, utcnow())
    db.commit()
    left = set(db.scalars(select(Job.id)))
    assert to_namesake in left  # waiting mail for someone else is theirs
    assert to_learner not in left and sent_naming not in left
