"""The chain: capstone graded -> eligibility -> issuance, in the grading's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lms.capstones import services as capstones
from lms.credentials.issuance import add_months, issue_if_eligible, signing_issuer
from lms.credentials.models import Credential, StatusList
from lms.credentials.status_list import decode, get_bit
from lms.credentials.verification import verify_credential
from lms.db import get_engine, utcnow
from tests.capstones.conftest import FULL_MARKS, LOW_MARKS
from tests.credentials.conftest import grade
from tests.credentials.shared_verifier import verify_documents
from tests.races import race


def _credentials(db, user):
    return db.scalars(select(Credential).where(Credential.user_id == user.id)).all()


def test_passing_the_capstone_issues_a_credential_that_both_verifiers_accept(app, db, capstone_setup, tmp_path):
    setup = capstone_setup()
    grade(db, setup, FULL_MARKS)
    [credential] = _credentials(db, setup.learner)
    document = credential.document
    subject = document["credentialSubject"]
    assert subject["name"] == "Lee Learner"
    assert document["issuer"]["id"].startswith("did:key:z6Mk")
    results = {r["resultDescription"].rsplit("#", 1)[1]: r for r in subject["result"]}
    assert results["capstone"]["value"] == "12"
    assert results["capstone-question"]["achievedLevel"].endswith("#capstone-question-2")
    assert document["evidence"][0]["genre"] == "Capstone project"
    status_url = document["credentialStatus"]["statusListCredential"]
    assert status_url.endswith(f"/credentials/status/{credential.status_list_id}")
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    listing = db.get(StatusList, credential.status_list_id)
    verdict = verify_credential(document, issuer.resolve, fetch_status_list=lambda url: listing.document)
    assert verdict.status == "valid", verdict.reasons
    assert not get_bit(decode(listing.document["credentialSubject"]["encodedList"]), credential.status_index)
    [independent] = verify_documents(tmp_path, [document])
    assert independent.verified, independent.errors


def test_no_credential_while_a_blocker_remains_and_never_two(db, capstone_setup):
    setup = capstone_setup()
    grade(db, setup, LOW_MARKS)  # needs revision: still blocked
    assert _credentials(db, setup.learner) == []
    assert issue_if_eligible(db, setup.learner.id, setup.course.id) is None
    record = setup.record(db)
    capstones.start_revision(db, setup.enrollment.id, record)
    db.flush()
    second = capstones.submit(db, setup.enrollment.id, record)
    capstones.claim(db, second.id, setup.grader.id)
    capstones.grade(db, second.id, setup.grader.id, capstones.Grading(FULL_MARKS, {}, "Good."), can_override=False)
    db.commit()
    assert len(_credentials(db, setup.learner)) == 1
    assert issue_if_eligible(db, setup.learner.id, setup.course.id) is None  # already held
    assert db.scalar(select(func.count(Credential.id))) == 1


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2027, 11, 30, tzinfo=UTC), 3) == datetime(2028, 2, 29, tzinfo=UTC)
    assert add_months(datetime(2026, 12, 6, tzinfo=UTC), 24) == datetime(2028, 12, 6, tzinfo=UTC)


@pytest.mark.postgres_only
def test_concurrent_last_blocker_events_issue_one_credential(app, db, capstone_setup):
    setup = capstone_setup()
    setup.learner.email_verified_at = None  # the last blocker left once the capstone passes
    db.commit()
    grade(db, setup, FULL_MARKS)
    assert _credentials(db, setup.learner) == []
    setup.learner.email_verified_at = utcnow()
    db.commit()
    results = race(app, lambda session, n: issue_if_eligible(session, setup.learner.id, setup.course.id).id)
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    assert results[0][1] == results[1][1]  # the loser returned the winner's credential
    db.expire_all()
    assert len(_credentials(db, setup.learner)) == 1


def test_verifying_the_email_issues_what_it_was_the_last_blocker_of(app, db, capstone_setup):
    from lms.auth.services import Tokens, verify_email

    setup = capstone_setup()
    setup.learner.email_verified_at = None
    db.commit()
    grade(db, setup, FULL_MARKS)
    assert _credentials(db, setup.learner) == []
    with app.app_context():
        tokens = Tokens(app.secret_key)
        verify_email(db, tokens, tokens.make("verify-email", {"uid": setup.learner.id, "email": setup.learner.email}))
    db.commit()
    assert len(_credentials(db, setup.learner)) == 1


def _due_without_an_event(db, capstone_setup):
    """A learner whose credential is due but was never issued: the capstone passed while the email was
    unverified, then the email was verified behind the service's back (no event)."""
    setup = capstone_setup()
    setup.learner.email_verified_at = None
    db.commit()
    grade(db, setup, FULL_MARKS)
    setup.learner.email_verified_at = utcnow()
    db.commit()
    return setup


def test_reconcile_issues_what_is_due_once_and_reports_it(app, db, capstone_setup):
    from lms.credentials.issuance import reconcile

    setup = _due_without_an_event(db, capstone_setup)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["credentials", "reconcile"])
    assert result.exit_code == 0, result.output
    assert "issued capstone-course to user" in result.output and "1 issued" in result.output
    db.expire_all()
    assert len(_credentials(db, setup.learner)) == 1
    again = reconcile(db)
    assert again.issued == [] and again.still_blocked == 0


def test_the_nightly_job_issues_what_the_events_missed_once(app, db, capstone_setup):
    from lms.jobs import run_due

    setup = _due_without_an_event(db, capstone_setup)
    maker = app.extensions["lms.sessionmaker"]
    settings = app.config["LMS_SETTINGS"]
    first = run_due(maker, datetime.now(UTC) + timedelta(seconds=1), settings=settings)
    assert any("credentials.reconcile" in line for line in first.scheduled)
    db.expire_all()
    assert len(_credentials(db, setup.learner)) == 1
    again = run_due(maker, datetime.now(UTC) + timedelta(seconds=2), settings=settings)
    assert not any("credentials.reconcile" in line for line in again.scheduled)  # once a night
    db.expire_all()
    assert len(_credentials(db, setup.learner)) == 1


def test_a_revoked_credential_is_not_issued_again_by_events_or_reconcile(app, db, capstone_setup, make_user):
    """Revoking (plagiarism found after the pass) is the issuer's decision: the capstone still counts as
    passed, yet neither a later event nor the nightly reconcile issues the credential again."""
    from lms.credentials import services
    from lms.credentials.issuance import reconcile

    setup = capstone_setup()
    grade(db, setup, FULL_MARKS)
    [credential] = _credentials(db, setup.learner)
    admin = make_user(admin=True)
    services.revoke(db, credential.public_id, admin.id, True, "The capstone was plagiarised.", utcnow())
    db.commit()
    assert issue_if_eligible(db, setup.learner.id, setup.course.id) is None
    report = reconcile(db)
    assert report.issued == [] and report.still_blocked == 0
    db.commit()
    assert [c.revoked_at is not None for c in _credentials(db, setup.learner)] == [True]


def test_the_served_status_list_says_whether_a_credential_is_revoked(app, db, client, capstone_setup):
    setup = capstone_setup()
    grade(db, setup, FULL_MARKS)
    [credential] = _credentials(db, setup.learner)
    issuer = signing_issuer(app.config["LMS_SETTINGS"])

    def fetch(url):
        response = client.get(url.removeprefix("http://localhost"))
        assert response.status_code == 200
        return response.get_json()

    assert verify_credential(credential.document, issuer.resolve, fetch_status_list=fetch).status == "valid"
    assert client.get("/credentials/status/999999").status_code == 404
    assert client.get("/.well-known/did.json").status_code == 404  # did:key: no document


def test_a_did_web_issuer_serves_its_did_document(tmp_path, database_url):
    from lms import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, database_url).with_overrides(issuer_did="web"))
    response = app.test_client().get("/.well-known/did.json")
    get_engine(app).dispose()
    assert response.status_code == 200
    document = response.get_json()
    assert document["id"] == "did:web:localhost" and document["assertionMethod"]
