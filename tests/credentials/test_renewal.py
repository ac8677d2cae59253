"""Renewing an expiring credential: a recertification pass inside the window supersedes it with a new one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.capstones import services as capstones
from lms.credentials import renewal
from lms.credentials.issuance import add_months, signing_issuer
from lms.credentials.models import Credential, StatusList
from lms.credentials.verification import verify_credential
from lms.db import utcnow
from tests.capstones.conftest import FULL_MARKS, LOW_MARKS, graded, submitted
from tests.conftest import CSRF_INPUT
from tests.credentials.expiring import hold, take_quiz
from tests.races import race


def _credentials(db, user) -> list[Credential]:
    db.expire_all()
    return list(db.scalars(select(Credential).where(Credential.user_id == user.id).order_by(Credential.id)))


def _verify(app, db, credential: Credential) -> str:
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    listing = db.get(StatusList, credential.status_list_id)
    verdict = verify_credential(credential.document, issuer.resolve, fetch_status_list=lambda url: listing.document)
    return verdict.status


# -- by quiz ------------------------------------------------------------------------------------------

def test_passing_the_recertification_quiz_in_the_window_supersedes_the_credential(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    old = hold(app, db, course.course, course.learner, now - timedelta(days=300))  # expires in about 65 days
    old.public = False
    db.commit()
    status = renewal.renewal_status(db, course.learner.id, course.course.id, now)
    assert status.state == "open" and status.renewable
    assert status.route.by == "quiz" and status.route.item_id == course.quiz.id
    assert status.route.path == "/courses/expiring-course/module-1/recertify"
    assert status.opens_at == old.valid_until - timedelta(days=90)

    attempt = take_quiz(db, course.setup.enrollment.id, course.quiz.id, now)

    old_row, new = _credentials(db, course.learner)
    assert old_row.id == old.id and old_row.superseded_at is not None and old_row.superseded_by_id == new.id
    assert new.superseded_at is None and new.revoked_at is None
    assert new.valid_until == add_months(new.valid_from, 12) and new.valid_from >= now
    assert new.public is False  # the holder's choice carried over
    assert new.achievement_version_id == old.achievement_version_id
    assert _verify(app, db, new) == "valid"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "credential.renewed"))
    assert (event.subject_id, event.actor_id) == (new.id, course.learner.id)
    assert event.data == {"superseded": old.id, "by": "quiz", "achievement_version": new.achievement_version_id,
                          "quiz_attempt_id": attempt.id}
    assert renewal.renewal_status(db, course.learner.id, course.course.id, utcnow()).state == "not_yet"


def test_a_pass_before_the_window_opens_changes_no_credential(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    held = hold(app, db, course.course, course.learner, now - timedelta(days=10))
    status = renewal.renewal_status(db, course.learner.id, course.course.id, now)
    assert status.state == "not_yet" and not status.renewable and status.route is None
    assert status.opens_at == held.valid_until - timedelta(days=90)
    assert "You can renew it from" in status.message
    take_quiz(db, course.setup.enrollment.id, course.quiz.id, now)
    assert [c.id for c in _credentials(db, course.learner)] == [held.id]
    assert _credentials(db, course.learner)[0].superseded_at is None


def test_an_expired_credential_can_still_be_renewed_a_failed_attempt_cannot(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    held = hold(app, db, course.course, course.learner, now - timedelta(days=400))
    status = renewal.renewal_status(db, course.learner.id, course.course.id, now)
    assert status.state == "expired" and status.renewable
    assert status.message.startswith("Your credential expired on") and "“Recertification check”" in status.message
    take_quiz(db, course.setup.enrollment.id, course.quiz.id, now, right=False)
    assert len(_credentials(db, course.learner)) == 1
    take_quiz(db, course.setup.enrollment.id, course.quiz.id, now)
    old, new = _credentials(db, course.learner)
    assert old.id == held.id and old.superseded_by_id == new.id and new.valid_until > now


def test_a_revoked_credential_is_not_renewed(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    held = hold(app, db, course.course, course.learner, now - timedelta(days=300))
    held.revoked_at, held.revoke_reason = now, "Issued by mistake."
    db.commit()
    assert renewal.renewal_status(db, course.learner.id, course.course.id, now).state == "not_held"
    take_quiz(db, course.setup.enrollment.id, course.quiz.id, now)
    assert [c.id for c in _credentials(db, course.learner)] == [held.id]


def test_a_credential_that_never_expires_is_not_renewable(app, db, capstone_setup):
    setup = capstone_setup()  # the default credential: no valid_for_months
    graded(db, setup, submitted(db, setup), FULL_MARKS)
    status = renewal.renewal_status(db, setup.learner.id, setup.course.id, utcnow())
    assert status.state == "permanent" and status.valid_until is None and not status.renewable



def test_the_dashboards_statuses_cost_three_statements_however_many_courses(app, db, expiring_course, enroll,
                                                                          count_queries):
    now = utcnow()
    first = expiring_course(months=12)
    learner = first.learner
    hold(app, db, first.course, learner, now - timedelta(days=300))
    others = [expiring_course(months=12, slug=f"other-{n}", learner_email=f"other{n}@example.com") for n in range(3)]
    for n, other in enumerate(others):
        enroll(learner, other.course)
        if n:
            hold(app, db, other.course, learner, now - timedelta(days=10 * n))
    with count_queries() as one:
        assert renewal.renewal_statuses(db, learner.id, [first.course.id], now)[first.course.id].state == "open"
    with count_queries() as four:
        statuses = renewal.renewal_statuses(db, learner.id, [first.course.id, *(o.course.id for o in others)], now)
    assert [statuses[c].state for c in [first.course.id, *(o.course.id for o in others)]] == [
        "open", "not_held", "not_yet", "not_yet"]
    assert one.count == four.count == 3


@pytest.mark.postgres_only
def test_two_renewals_at_once_leave_exactly_one_new_current_credential(app, db, expiring_course):
    course = expiring_course(months=12)
    now = utcnow()
    old = hold(app, db, course.course, course.learner, now - timedelta(days=300))
    user_id, course_id = course.learner.id, course.course.id

    def renew(session, n):
        credential = renewal.renew(session, user_id, course_id, "quiz", now, now + timedelta(seconds=n))
        return credential.id

    results = race(app, renew)
    credentials = _credentials(db, course.learner)
    current = [c for c in credentials if c.superseded_at is None and c.revoked_at is None]
    assert len(credentials) == 2 and len(current) == 1, results
    [new] = current
    assert db.get(Credential, old.id).superseded_by_id == new.id
    if db.get_bind().dialect.name == "postgresql":
        # The loser's conditional UPDATE waited for the winner, matched nothing, and returned its credential.
        assert results == [("ok", new.id), ("ok", new.id)]
    else:  # SQLite has one writer: the loser cannot even start writing, and renews nothing
        assert ("ok", new.id) in results


# -- by capstone ------------------------------------------------------------------------------------------

def test_passing_the_capstone_again_in_the_window_renews_with_a_fresh_round_of_revisions(app, db, expiring_course):
    course = expiring_course(months=2, recertify_by="capstone", max_revisions=1)
    setup = course.setup
    first = submitted(db, setup)
    assert graded(db, setup, first, LOW_MARKS).outcome == "needs_revision"
    record = setup.record(db)
    capstones.start_revision(db, setup.enrollment.id, record)
    db.commit()
    graded(db, setup, submitted(db, setup), FULL_MARKS)
    [earned] = _credentials(db, setup.learner)  # the pass that earned it renews nothing
    assert earned.valid_until - utcnow() < timedelta(days=90)  # valid two months: in the window at once

    status = renewal.renewal_status(db, setup.learner.id, setup.course.id, utcnow())
    assert status.state == "open" and status.route.by == "capstone"
    assert status.route.path == "/courses/expiring-course/capstone"
    draft = renewal.start_capstone_renewal(db, setup.learner.id, setup.course.id)
    db.commit()
    assert (draft.version, draft.state, draft.text) == (3, "draft", "")  # empty: the work is assessed anew
    again = renewal.start_capstone_renewal(db, setup.learner.id, setup.course.id)
    assert again.id == draft.id  # a repeated click

    third = submitted(db, setup)
    # Version 3, but the first hand-in of its round: the grader may still ask for a revision.
    assert graded(db, setup, third, LOW_MARKS).outcome == "needs_revision"
    assert len(_credentials(db, setup.learner)) == 1
    capstones.start_revision(db, setup.enrollment.id, record)
    db.commit()
    fourth = submitted(db, setup)
    graded(db, setup, fourth, FULL_MARKS)

    old, new = _credentials(db, setup.learner)
    assert old.id == earned.id and old.superseded_by_id == new.id and new.superseded_at is None
    assert _verify(app, db, new) == "valid"
    assert new.document["credentialSubject"]["result"]  # its results come from the new pass
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "credential.renewed"))
    assert event.data["by"] == "capstone" and event.data["submission_id"] == fourth.id


def test_a_capstone_renewal_is_started_only_in_the_window_of_a_course_that_renews_by_capstone(
        app, db, expiring_course, capstone_setup):
    by_capstone = expiring_course(months=12, recertify_by="capstone")
    now = utcnow()
    hold(app, db, by_capstone.course, by_capstone.learner, now - timedelta(days=10))
    with pytest.raises(renewal.NotRenewable, match="You can renew it from"):
        renewal.start_capstone_renewal(db, by_capstone.learner.id, by_capstone.course.id, now)

    by_quiz = expiring_course(months=12, slug="quiz-renewed", learner_email="q@example.com")
    hold(app, db, by_quiz.course, by_quiz.learner, now - timedelta(days=300))
    with pytest.raises(renewal.NotRenewable, match="renews its credential by a quiz"):
        renewal.start_capstone_renewal(db, by_quiz.learner.id, by_quiz.course.id, now)
    with pytest.raises(renewal.NotRenewable, match="no credential"):
        renewal.start_capstone_renewal(db, by_quiz.setup.grader.id, by_quiz.course.id, now)


def test_the_recertification_quiz_of_a_course_that_renews_by_capstone_renews_nothing(app, db, expiring_course):
    course = expiring_course(months=12, recertify_by="capstone")
    now = utcnow()
    held = hold(app, db, course.course, course.learner, now - timedelta(days=300))
    assert renewal.renew(db, course.learner.id, course.course.id, "quiz", now, now) is None
    assert [c.id for c in _credentials(db, course.learner)] == [held.id]


# -- on the dashboard ------------------------------------------------------------------------------------

def test_the_dashboard_offers_renewal_in_the_window_by_the_courses_route(app, db, client, auth, expiring_course):
    by_quiz = expiring_course(months=12)
    hold(app, db, by_quiz.course, by_quiz.learner, utcnow() - timedelta(days=300))
    auth.login(by_quiz.learner.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Renew: Recertification check" in page and "/courses/expiring-course/module-1/recertify" in page
    auth.logout()

    by_capstone = expiring_course(months=12, recertify_by="capstone", slug="capstone-renewed",
                                  learner_email="c@example.com")
    held = hold(app, db, by_capstone.course, by_capstone.learner, utcnow() - timedelta(days=300))
    auth.login("c@example.com")
    rendered = client.get("/dashboard").get_data(as_text=True)
    assert "Renew: start the capstone again" in rendered
    # The renew form's own token, from the dashboard served again from its cache (decision 0026).
    cache = app.extensions["lms.dashboard_cache"]
    entries = len(cache)
    page = client.get("/dashboard").get_data(as_text=True)
    assert page == rendered and len(cache) == entries
    form = page[page.index(f'action="/credentials/{held.public_id}/renew"'):]
    response = client.post(f"/credentials/{held.public_id}/renew",
                           data={"csrf_token": CSRF_INPUT.search(form).group(1)})
    assert response.status_code == 302, response.status_code
    assert response.headers["Location"].endswith("/courses/capstone-renewed/capstone")
    client.get("/dashboard")  # (shows and consumes the flashed message)
    after = client.get("/dashboard").get_data(as_text=True)
    cache.clear()
    assert client.get("/dashboard").get_data(as_text=True) == after  # what the cache served is up to date
    db.expire_all()
    latest = db.scalar(select(capstones.Submission).where(capstones.Submission.enrollment_id == by_capstone.setup
                                                          .enrollment.id).order_by(capstones.Submission.id.desc()))
    assert latest.state == "draft" and latest.text == ""


def test_renewing_someone_elses_or_too_early_is_refused(app, db, client, auth, expiring_course, make_user):
    course = expiring_course(months=12, recertify_by="capstone")
    held = hold(app, db, course.course, course.learner, utcnow() - timedelta(days=10))  # window not open
    auth.login(course.learner.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "You can renew it from" in page and "Renew: start" not in page
    response = auth.post(f"/credentials/{held.public_id}/renew", form_page="/dashboard")
    assert response.status_code == 302
    assert "You can renew it from" in client.get("/dashboard").get_data(as_text=True)  # the flashed reason
    auth.logout()
    make_user("other@example.com")
    auth.login("other@example.com")
    assert auth.post(f"/credentials/{held.public_id}/renew", form_page="/dashboard").status_code == 404
