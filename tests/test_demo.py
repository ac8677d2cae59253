"""`flask demo`'s credentials (lms/credentials/demo.py): one valid, one expiring soon, one revoked, all
earned through the platform's services and verifiable from their documents; a second load adds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.audit.models import AuditEvent
from lms.auth.models import User
from lms.capstones.models import Review, Submission
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.credentials.eligibility import course_blockers
from lms.credentials.issuance import add_months, issue_if_eligible, signing_issuer
from lms.credentials.models import Achievement, Credential, StatusList
from lms.credentials.status_list import decode, get_bit
from lms.credentials.verification import verify_credential
from lms.db import utcnow
from lms.demo import load_demo
from lms.enrollments.models import Enrollment
from lms.notifications.models import Notification
from lms.quizzes.models import AttemptAnswer, QuizAttempt
from tests.conftest import ROOT


@pytest.fixture
def demo(app, db):
    """Load the demo on the real courses, as `make run` does; returns the printed lines."""
    result = load_courses(ROOT / "courses")
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()

    def load() -> list[str]:
        lines = load_demo(db, app.extensions["lms.password_hasher"], "demo password 123",
                          app.extensions["lms.uploads"])
        db.commit()
        return lines

    return load


def _credential_of(db, email: str) -> Credential:
    [credential] = db.scalars(select(Credential).join(User, User.id == Credential.user_id)
                              .where(User.email == email)).all()
    return credential


def _status_list(db, url: str) -> dict:
    return db.get(StatusList, int(url.rsplit("/", 1)[1])).document


def test_the_demo_learners_hold_a_valid_an_expiring_and_a_revoked_credential(app, db, demo):
    lines = demo()
    now = utcnow()
    sam, amara, noah = (_credential_of(db, f"{name}@example.com") for name in ("sam", "amara", "noah"))

    assert sam.revoked_at is None and sam.superseded_at is None and sam.valid_until is None
    assert now - timedelta(minutes=5) < sam.issued_at <= now  # issued by the event of his last quiz pass
    assert sam.document["credentialSubject"]["achievement"]["name"] == "Python Data Analysis Practitioner"

    assert amara.revoked_at is None and amara.superseded_at is None
    assert timedelta(days=18) < amara.valid_until - now <= timedelta(days=20)  # within the 30-day reminder
    assert amara.valid_until == add_months(amara.issued_at, 24)
    # Back-dated as a whole: her capstone, then her quizzes, the last of which issued the credential.
    enrollment_id = db.scalar(select(Enrollment.id).where(Enrollment.user_id == amara.user_id))
    passed_at = db.scalars(select(QuizAttempt.submitted_at).where(QuizAttempt.enrollment_id == enrollment_id)).all()
    graded_at = db.scalar(select(Review.graded_at).join(Submission, Submission.id == Review.submission_id)
                          .where(Submission.enrollment_id == enrollment_id))
    assert len(passed_at) == 4 and graded_at < min(passed_at) and max(passed_at) <= amara.issued_at

    assert noah.revoked_at is not None and noah.revoked_by_id is not None
    assert "resubmit" in noah.revoke_reason
    assert db.scalar(select(func.count(Notification.id)).where(Notification.user_id == noah.user_id,
                                                              Notification.kind == "credential_revoked")) == 1
    assert noah.document["credentialSubject"]["achievement"]["name"] == "SQL for Analysts"
    listing = db.get(StatusList, noah.status_list_id)
    assert get_bit(listing.bits, noah.status_index)
    assert get_bit(decode(listing.document["credentialSubject"]["encodedList"]), noah.status_index)

    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    for credential, expected in ((sam, "valid"), (amara, "valid"), (noah, "revoked")):
        verdict = verify_credential(credential.document, issuer.resolve,
                                    fetch_status_list=lambda url: _status_list(db, url))
        assert verdict.status == expected, verdict.reasons
        assert any(f"/credentials/{credential.public_id}" in line for line in lines)
    assert any("Amara Diallo" in line and "expires on" in line for line in lines)
    assert any("Noah Fischer" in line and "revoked" in line for line in lines)

    # Every module quiz was passed with full points, and the results are in the credentials.
    for credential in (sam, amara, noah):
        quiz_results = [r for r in credential.document["credentialSubject"]["result"]
                        if "#quiz-" in r["resultDescription"]]
        assert quiz_results and {r["value"] for r in quiz_results} == {"100"}
    assert db.scalar(select(func.count(AttemptAnswer.id)).where(AttemptAnswer.status == "pending")) == 0
    # Noah was asked to resubmit: his capstone is open again, so nothing issues him a new one unasked.
    course_id = db.scalar(select(Achievement.course_id).where(Achievement.id == noah.achievement_id))
    assert [b.kind for b in course_blockers(db, noah.user_id, course_id).blockers] == ["capstone"]
    assert issue_if_eligible(db, noah.user_id, course_id) is None


def test_a_second_demo_load_adds_nothing(db, demo):
    first = demo()

    def state():
        counted = (Credential.id, QuizAttempt.id, AttemptAnswer.id, Submission.id, Notification.id, AuditEvent.id,
                   User.id)
        credentials = db.execute(select(Credential.public_id, Credential.revoked_at, Credential.valid_until)
                                 .order_by(Credential.id)).all()
        return [db.scalar(select(func.count(column))) for column in counted], credentials, \
            [bytes(b) for b in db.scalars(select(StatusList.bits))]

    before = state()
    second = demo()
    assert state() == before
    assert [line for line in second if "/credentials/" in line] == [line for line in first if "/credentials/" in line]
