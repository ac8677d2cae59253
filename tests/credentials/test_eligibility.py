"""Eligibility: the blockers a learner reads, from enrolment to the last assessment passed."""

from __future__ import annotations

from sqlalchemy import select

from lms.capstones import services as capstones
from lms.catalog.models import Course, Item
from lms.credentials.eligibility import course_blockers
from lms.enrollments.services import complete_item
from tests.capstones.conftest import FULL_MARKS, LOW_MARKS, submitted
from tests.content.test_credential import _course
from tests.credentials.test_sync import _sync


def _messages(db, user, course) -> list[str]:
    return [b.message for b in course_blockers(db, user.id, course.id).blockers]


def test_the_capstone_blocker_follows_the_submission_to_eligibility(db, capstone_setup, count_queries):
    setup = capstone_setup()
    assert _messages(db, setup.learner, setup.course) == ["Submit your capstone project"]
    submission = submitted(db, setup)
    assert _messages(db, setup.learner, setup.course) == ["Your capstone is waiting for a grader"]
    capstones.claim(db, submission.id, setup.grader.id)
    assert _messages(db, setup.learner, setup.course) == ["Your capstone is being reviewed"]
    capstones.grade(db, submission.id, setup.grader.id, capstones.Grading(LOW_MARKS, {}, "Almost."),
                    can_override=False)
    db.commit()
    assert _messages(db, setup.learner, setup.course) == [
        "Your capstone needs revision: read the feedback and resubmit"]
    record = setup.record(db)
    capstones.start_revision(db, setup.enrollment.id, record)
    db.flush()
    second = capstones.submit(db, setup.enrollment.id, record)
    capstones.claim(db, second.id, setup.grader.id)
    capstones.grade(db, second.id, setup.grader.id, capstones.Grading(FULL_MARKS, {}, "Great."), can_override=False)
    db.commit()
    with count_queries() as queries:
        eligibility = course_blockers(db, setup.learner.id, setup.course.id)
    assert eligibility.eligible and eligibility.blockers == ()
    assert queries.count <= 4


def test_email_track_and_enrolment_blockers(db, capstone_setup, make_user, enroll):
    setup = capstone_setup()
    stranger = make_user("stranger@example.com")
    assert _messages(db, stranger, setup.course) == ["Enrol in the course"]
    auditor = make_user("auditor@example.com", verified=False)
    enroll(auditor, setup.course, track="audit")
    assert _messages(db, auditor, setup.course) == [
        "Verify your email address", "Switch to the credential track", "Submit your capstone project"]


def test_each_required_quiz_not_passed_is_a_blocker_in_course_order(app, db, tmp_path, make_user, enroll):
    folder = _course(tmp_path, "credential:\n  requires:\n    capstone: false\n")
    _sync(app, db, folder)
    course = db.scalar(select(Course).where(Course.slug == "cred-course"))
    learner = make_user("quizzer@example.com")
    enrollment = enroll(learner, course)
    assert _messages(db, learner, course) == ["Pass the quiz “Module 1 check”", "Pass the quiz “Module 2 check”"]
    quiz_ids = db.scalars(select(Item.id).where(Item.course_id == course.id, Item.kind == "quiz")
                          .order_by(Item.id)).all()
    complete_item(db, enrollment.id, quiz_ids[0], "read")  # opened, not passed: still a blocker
    complete_item(db, enrollment.id, quiz_ids[1], "passed")
    db.commit()
    assert _messages(db, learner, course) == ["Pass the quiz “Module 1 check”"]


def test_a_course_without_a_credential_has_no_achievement(app, db, tmp_path, make_user):
    folder = _course(tmp_path, "credential: false\n")
    _sync(app, db, folder)
    course = db.scalar(select(Course).where(Course.slug == "cred-course"))
    eligibility = course_blockers(db, make_user().id, course.id)
    assert eligibility.achievement_id is None and not eligibility.eligible


def _both_ways(db, user) -> tuple[dict, dict]:
    """The blockers from the database, and from what the dashboard read: they must always agree."""
    from lms.credentials.eligibility import blockers_by_course, blockers_of_enrolled
    from lms.progress.services import credential_facts, learner_dashboard

    cards = learner_dashboard(db, user.id)
    from_dashboard = blockers_of_enrolled(db, user.email_verified_at is not None,
                                          [credential_facts(c) for c in cards])
    return blockers_by_course(db, user.id, [c.course_id for c in cards]), from_dashboard


def test_the_dashboards_blockers_are_the_databases(app, db, tmp_path, make_user, enroll, capstone_setup):
    folder = _course(tmp_path, "")  # module quizzes and the default credential
    _sync(app, db, folder)
    quiz_course = db.scalar(select(Course).where(Course.slug == "cred-course"))
    setup = capstone_setup()
    learner = setup.learner
    enrollment = enroll(learner, quiz_course, track="audit")
    quiz_ids = db.scalars(select(Item.id).where(Item.course_id == quiz_course.id, Item.kind == "quiz")
                          .order_by(Item.id)).all()
    from_db, from_dashboard = _both_ways(db, learner)
    assert from_db == from_dashboard and len(from_db[quiz_course.id].blockers) == 4
    complete_item(db, enrollment.id, quiz_ids[0], "read")  # not a pass
    complete_item(db, enrollment.id, quiz_ids[1], "passed")
    submission = submitted(db, setup)
    capstones.claim(db, submission.id, setup.grader.id)
    db.commit()
    from_db, from_dashboard = _both_ways(db, learner)
    assert from_db == from_dashboard
    assert [b.message for b in from_dashboard[setup.course.id].blockers] == ["Your capstone is being reviewed"]
    assert [b.kind for b in from_dashboard[quiz_course.id].blockers] == ["credential_track", "quiz", "capstone"]
