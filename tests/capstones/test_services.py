"""Capstone submissions and grading, through the services (no HTTP)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.audit.models import AuditEvent
from lms.capstones import services
from lms.capstones.models import CapstoneVersion, Review, Submission, SubmissionFile
from lms.db import utcnow
from lms.enrollments.models import ItemCompletion
from lms.errors import NotFound
from tests.capstones.conftest import FULL_MARKS, GOOD_TEXT, LOW_MARKS, submitted, write_capstone_course
from tests.races import race


def _grade(db, submission, grader, scores, **kwargs):
    services.claim(db, submission.id, grader.id)
    can_override = kwargs.pop("can_override", False)
    review = services.grade(db, submission.id, grader.id,
                            services.Grading(scores=scores, criterion_comments=kwargs.pop("comments", {}),
                                             comment=kwargs.pop("comment", "Good work."), **kwargs),
                            can_override=can_override)
    db.commit()
    return review


# -- drafts and submitting ------------------------------------------------------------------------------

def test_a_draft_is_saved_then_submitted_with_the_checks_results(db, capstone_setup, store):
    setup = capstone_setup()
    submission = submitted(db, setup, store)
    assert submission.state == "submitted" and submission.version == 1
    assert submission.submitted_at is not None
    checks = {c["type"]: c for c in submission.checks}
    assert set(checks) == {"headings", "min_words", "link_patterns"}
    assert all(c["passed"] for c in checks.values()), checks
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == submission.id)
                         .order_by(AuditEvent.id)).all()
    assert actions == ["capstone.draft_started", "capstone.submitted"]


def test_submitting_without_what_the_capstone_asks_keeps_the_draft(db, capstone_setup):
    setup = capstone_setup()
    record = setup.record(db)
    services.save_draft(db, setup.enrollment.id, record, "Just a start", [])
    db.commit()
    with pytest.raises(services.NotReady) as raised:
        services.submit(db, setup.enrollment.id, record)
    assert "Add at least 1 link" in raised.value.message
    db.rollback()
    draft = db.scalar(select(Submission))
    assert draft.state == "draft" and draft.text == "Just a start"


def test_submitting_twice_changes_nothing(db, capstone_setup):
    setup = capstone_setup()
    first = submitted(db, setup)
    again = services.submit(db, setup.enrollment.id, setup.record(db))
    db.commit()
    assert again.id == first.id and again.submitted_at == first.submitted_at
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "capstone.submitted")) is not None
    assert len(db.scalars(select(AuditEvent).where(AuditEvent.action == "capstone.submitted")).all()) == 1


def test_a_submitted_version_cannot_be_edited(db, capstone_setup):
    setup = capstone_setup()
    submitted(db, setup)
    with pytest.raises(services.NotEditable, match="waiting for a grader"):
        services.save_draft(db, setup.enrollment.id, setup.record(db), "changed", [])


@pytest.mark.parametrize("link, message", [
    ("javascript:alert(1)", "not a web address"),
    ("JAVASCRIPT:alert(1)", "not a web address"),
    ("data:text/html,<script>alert(1)</script>", "not a web address"),
    ("ftp://example.com/file", "not a web address"),
    ("https://", "not a web address"),
    ("https://exa mple.com/", "not a web address"),
    ("//example.com/x", "not a web address"),
    ("https://example.com/" + "a" * 2000, "characters long"),
])
def test_links_must_be_http_or_https(db, capstone_setup, link, message):
    setup = capstone_setup()
    with pytest.raises(services.BadLink, match=message):
        services.save_draft(db, setup.enrollment.id, setup.record(db), GOOD_TEXT, [link])
    db.rollback()
    assert db.scalar(select(Submission)) is None  # nothing half-saved


def test_links_are_limited_in_number_and_unique(db, capstone_setup):
    setup = capstone_setup()
    record = setup.record(db)
    with pytest.raises(services.BadLink, match="2 at most"):
        services.save_draft(db, setup.enrollment.id, record, "", ["https://a.example/", "https://b.example/",
                                                                  "https://c.example/"])
    with pytest.raises(services.BadLink, match="twice"):
        services.save_draft(db, setup.enrollment.id, record, "", ["https://a.example/", "https://a.example/"])


def test_html_and_script_in_the_write_up_are_sanitised(db, capstone_setup):
    setup = capstone_setup()
    text = ('## Summary\n\n<script>alert("x")</script><img src=x onerror=alert(1)>'
            '<a href="javascript:alert(1)">click</a> **bold**')
    draft = services.save_draft(db, setup.enrollment.id, setup.record(db), text, [])
    html = draft.text_html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert "<strong>bold</strong>" in html and "<h3>Summary" in html
    assert draft.text == text  # the learner's own text is kept as written


# -- files --------------------------------------------------------------------------------------------------

def test_files_are_limited_in_number_and_total_size(db, capstone_setup, store):
    setup = capstone_setup()
    record = setup.record(db)
    big = b"a,b\n" + b"1,2\n" * (900 * 1024 // 4)  # about 900 KB of CSV
    services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(big), "one.csv")
    with pytest.raises(services.CapstoneError, match="does not fit"):
        services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(big), "two.csv")
    db.commit()
    assert [f.name for f in db.scalars(select(SubmissionFile))] == ["one.csv"]
    with pytest.raises(services.CapstoneError, match="already attached"):
        services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(b"x\n"), "one.csv")
    for name in ("two.txt", "three.txt"):
        services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(b"notes\n"), name)
    with pytest.raises(services.CapstoneError, match="3 files at most"):
        services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(b"notes\n"), "four.txt")


def test_a_file_of_a_type_the_capstone_does_not_take_is_refused(db, capstone_setup, store):
    from lms.errors import DomainError

    setup = capstone_setup()
    with pytest.raises(DomainError):
        services.add_file(db, store, setup.enrollment.id, setup.record(db), io.BytesIO(b"print(1)\n"), "x.py")
    db.rollback()
    assert db.scalar(select(SubmissionFile)) is None


# -- claiming ----------------------------------------------------------------------------------------------

def test_a_claim_locks_the_version_to_one_grader(db, capstone_setup, make_user):
    from lms.auth.services import grant

    setup = capstone_setup()
    submission = submitted(db, setup)
    other = make_user("other-grader@example.com", name="Olga Other")
    grant(db, other, "grader", setup.course.slug)
    services.claim(db, submission.id, setup.grader.id)
    db.commit()
    with pytest.raises(services.ClaimTaken, match="Grace Grader is grading"):
        services.claim(db, submission.id, other.id)
    db.rollback()
    with pytest.raises(services.ClaimTaken):
        services.grade(db, submission.id, other.id, services.Grading(FULL_MARKS, {}, ""), can_override=False)
    db.rollback()
    assert db.get(Submission, submission.id).claimed_by_id == setup.grader.id


def test_a_stale_claim_can_be_taken_over(db, capstone_setup, make_user):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id, now=utcnow() - services.CLAIM_DURATION - timedelta(minutes=1))
    db.commit()
    entries, _ = services.grader_queue(db, services.QueueScope(setup.instructor.id), "waiting")
    assert [e.submission_id for e in entries] == [submission.id]  # back in the queue
    services.claim(db, submission.id, setup.instructor.id)
    db.commit()
    assert db.get(Submission, submission.id).claimed_by_id == setup.instructor.id


def test_a_grader_cannot_claim_or_grade_their_own_submission(db, capstone_setup, enroll):
    setup = capstone_setup()
    own = enroll(setup.grader, setup.course)
    record = setup.record(db)
    services.save_draft(db, own.id, record, GOOD_TEXT, ["https://github.com/grace/x"])
    db.flush()
    submission = services.submit(db, own.id, record)
    db.commit()
    with pytest.raises(services.OwnSubmission):
        services.claim(db, submission.id, setup.grader.id)


def test_release_puts_the_version_back_in_the_queue(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id)
    services.release(db, submission.id, setup.grader.id)
    db.commit()
    db.refresh(submission)
    assert submission.state == "submitted" and submission.claim_expires_at is None
    with pytest.raises(services.NotClaimed):
        services.release(db, submission.id, setup.grader.id)


# -- grading and the pass rule -------------------------------------------------------------------------

def test_full_marks_pass_and_complete_the_capstone(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    review = _grade(db, submission, setup.grader, FULL_MARKS, comments={"analysis": "Sharp."})
    assert (review.outcome, review.points, review.max_points, review.meets_rule) == ("passed", 12, 12, True)
    assert review.criterion_comments == {"analysis": "Sharp."}
    db.refresh(submission)
    assert submission.state == "passed" and submission.decided_at is not None
    completion = db.scalar(select(ItemCompletion).where(ItemCompletion.item_id == setup.item.id))
    assert completion is not None and completion.how == "passed"


def test_low_marks_suggest_a_revision_while_revisions_remain(db, capstone_setup):
    setup = capstone_setup()
    review = _grade(db, submitted(db, setup), setup.grader, LOW_MARKS)
    assert (review.outcome, review.points, review.meets_rule) == ("needs_revision", 6, False)
    assert db.scalar(select(ItemCompletion)) is None


def test_a_required_criterion_below_its_minimum_fails_even_with_enough_points(db, capstone_setup):
    setup = capstone_setup()
    scores = {**FULL_MARKS, "question": 1}  # 11 of 12 points, but "Question and data" needs 2
    review = _grade(db, submitted(db, setup), setup.grader, scores)
    assert review.points == 11 and not review.meets_rule and review.outcome == "needs_revision"


def test_a_grader_may_end_a_failing_submission_but_not_pass_it(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id)
    with pytest.raises(services.GradingInvalid, match="Only an instructor"):
        services.grade(db, submission.id, setup.grader.id, services.Grading(LOW_MARKS, {}, "", outcome="passed"),
                       can_override=False)
    review = services.grade(db, submission.id, setup.grader.id,
                            services.Grading(LOW_MARKS, {}, "", outcome="not_passed"), can_override=False)
    assert review.outcome == "not_passed" and review.override_reason is None


def test_an_instructor_overrides_only_with_a_written_reason(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.instructor.id)
    with pytest.raises(services.GradingInvalid, match="reason"):
        services.grade(db, submission.id, setup.instructor.id,
                       services.Grading(FULL_MARKS, {}, "", outcome="not_passed", override_reason="  "),
                       can_override=True)
    review = services.grade(db, submission.id, setup.instructor.id,
                            services.Grading(FULL_MARKS, {}, "", outcome="not_passed",
                                             override_reason="The analysis is copied from the worked example."),
                            can_override=True)
    db.commit()
    assert review.outcome == "not_passed" and review.overridden_by_id == setup.instructor.id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "capstone.graded"))
    assert event.data["overridden"] is True and event.data["to_state"] == "not_passed"


def test_the_database_refuses_an_override_without_a_reason(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    db.add(Review(submission_id=submission.id, grader_id=setup.grader.id,
                  capstone_version_id=submission.capstone_version_id, scores=LOW_MARKS, points=6, max_points=12,
                  meets_rule=False, suggested_outcome="needs_revision", outcome="passed"))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


@pytest.mark.parametrize("scores, message", [
    ({"question": 2, "cleaning": 4, "analysis": 4}, "every criterion: Communication"),
    ({**FULL_MARKS, "cleaning": 3}, "Cleaning log: 3 is not one of its levels"),
])
def test_scores_must_be_levels_of_every_criterion(db, capstone_setup, scores, message):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id)
    db.commit()
    with pytest.raises(services.GradingInvalid, match=message):
        services.grade(db, submission.id, setup.grader.id, services.Grading(scores, {}, ""), can_override=False)
    db.rollback()
    assert db.get(Submission, submission.id).state == "in_review"


def test_grading_without_a_claim_or_twice_is_refused(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    with pytest.raises(services.NotClaimed):
        services.grade(db, submission.id, setup.grader.id, services.Grading(FULL_MARKS, {}, ""), can_override=False)
    db.rollback()
    _grade_once = _grade(db, submission, setup.grader, FULL_MARKS)
    assert _grade_once.outcome == "passed"
    with pytest.raises(services.AlreadyGraded):
        services.grade(db, submission.id, setup.grader.id, services.Grading(FULL_MARKS, {}, ""), can_override=False)


# -- revising ------------------------------------------------------------------------------------------------

def test_a_revision_copies_the_last_version_and_keeps_its_feedback(db, capstone_setup, store):
    setup = capstone_setup()
    first = submitted(db, setup, store)
    _grade(db, first, setup.grader, LOW_MARKS, comment="Add a cleaning log.")
    record = setup.record(db)
    second = services.start_revision(db, setup.enrollment.id, record)
    db.commit()
    assert (second.version, second.state, second.text, second.links) == (2, "draft", first.text, first.links)
    assert services.start_revision(db, setup.enrollment.id, record).id == second.id  # a repeated click
    services.save_draft(db, setup.enrollment.id, record, GOOD_TEXT + "\n## Findings\n\nMore.\n",
                        ["https://github.com/lee/bikes-v2"])
    services.add_file(db, store, setup.enrollment.id, record, io.BytesIO(b"changes\n"), "changes.txt")
    db.flush()
    services.submit(db, setup.enrollment.id, record)
    db.commit()
    versions = services.versions_of(db, setup.enrollment.id, setup.item.id)
    assert [v.submission.version for v in versions] == [1, 2]
    assert versions[0].review.comment == "Add a cleaning log."
    assert [f.name for f in versions[1].files] == ["trips.csv", "changes.txt"]
    changes = services.changes_between(versions[0], versions[1])
    assert changes.links_added == ("https://github.com/lee/bikes-v2",)
    assert changes.links_removed == ("https://github.com/lee/bikes",)
    assert changes.files_added == ("changes.txt",)
    assert ("added", "## Findings") in changes.text_diff


def test_no_revision_is_offered_after_the_last_allowed_version(db, capstone_setup):
    setup = capstone_setup(max_revisions=1)
    _grade(db, submitted(db, setup), setup.grader, LOW_MARKS)
    record = setup.record(db)
    services.start_revision(db, setup.enrollment.id, record)
    db.flush()
    second = services.submit(db, setup.enrollment.id, record)
    db.commit()
    services.claim(db, second.id, setup.grader.id)
    with pytest.raises(services.GradingInvalid, match="last version"):
        services.grade(db, second.id, setup.grader.id,
                       services.Grading(LOW_MARKS, {}, "", outcome="needs_revision"), can_override=False)
    review = services.grade(db, second.id, setup.grader.id, services.Grading(LOW_MARKS, {}, ""), can_override=False)
    assert review.outcome == "not_passed" and review.suggested_outcome == "not_passed"
    db.commit()
    with pytest.raises(services.NotEditable):
        services.start_revision(db, setup.enrollment.id, record)


def test_a_revision_cannot_start_before_a_review_asks_for_one(db, capstone_setup):
    setup = capstone_setup()
    record = setup.record(db)
    with pytest.raises(services.NotEditable):
        services.start_revision(db, setup.enrollment.id, record)
    submitted(db, setup)
    assert services.start_revision(db, setup.enrollment.id, record).state == "submitted"  # answers with the open one


# -- rubric versions -----------------------------------------------------------------------------------------

def test_a_review_keeps_the_rubric_the_learner_submitted_to(app, db, capstone_setup, courses_root):
    from lms.catalog.services import sync_courses
    from lms.content import load_courses
    from tests.capstones.conftest import CAPSTONE_MD

    setup = capstone_setup()
    submission = submitted(db, setup)
    changed = CAPSTONE_MD.format(max_revisions=2).replace("min_points: 8", "min_points: 12")
    write_capstone_course(courses_root, "capstone-course", text=changed)
    sync_courses(db, load_courses(courses_root / "capstone-course").courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    versions = db.scalars(select(CapstoneVersion).order_by(CapstoneVersion.version)).all()
    assert [(v.version, v.retired_at is None) for v in versions] == [(1, False), (2, True)]
    scores = {**FULL_MARKS, "communication": 0, "analysis": 2}  # 8 points: passes version 1, fails version 2
    review = _grade(db, submission, setup.grader, scores)
    assert review.capstone_version_id == versions[0].id and review.outcome == "passed"


# -- sharing ---------------------------------------------------------------------------------------------------

def test_only_a_passed_capstone_is_shared_and_unsharing_ends_the_address(db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    with pytest.raises(services.NotEditable):
        services.share(db, submission, setup.learner.id)
    _grade(db, submission, setup.grader, FULL_MARKS)
    token = services.share(db, submission, setup.learner.id)
    db.commit()
    assert len(token) >= 32 and services.share(db, submission, setup.learner.id) == token
    shown, _files, review, learner, *_ = services.shared_submission(db, token)
    assert shown.id == submission.id and learner == "Lee Learner" and review.outcome == "passed"
    services.unshare(db, submission, setup.learner.id)
    db.commit()
    with pytest.raises(NotFound):
        services.shared_submission(db, token)


# -- the queue ----------------------------------------------------------------------------------------------------

def test_the_queue_is_oldest_first_with_keyset_pages(db, capstone_setup, make_user, enroll, monkeypatch):
    setup = capstone_setup()
    record = setup.record(db)
    start = utcnow() - timedelta(days=3)
    ids = []
    for n in range(5):
        learner = make_user(f"q{n}@example.com", name=f"Queued {n}")
        enrollment = enroll(learner, setup.course)
        services.save_draft(db, enrollment.id, record, GOOD_TEXT, ["https://github.com/q/x"])
        db.flush()
        ids.append(services.submit(db, enrollment.id, record, now=start + timedelta(hours=5 - n)).id)
    db.commit()
    expected = list(reversed(ids))  # the last one submitted earliest
    scope = services.QueueScope(setup.grader.id, setup.course.id)
    first, cursor = services.grader_queue(db, scope, limit=2)
    second, cursor2 = services.grader_queue(db, scope, after=cursor, limit=2)
    third, cursor3 = services.grader_queue(db, scope, after=cursor2, limit=2)
    assert [e.submission_id for e in first + second + third] == expected and cursor3 is None
    services.claim(db, expected[0], setup.grader.id)
    db.commit()
    mine, _ = services.grader_queue(db, scope, "mine")
    waiting, _ = services.grader_queue(db, scope, "waiting")
    assert [e.submission_id for e in mine] == [expected[0]]
    assert [e.submission_id for e in waiting] == expected[1:]
    assert services.queue_counts(db, scope) == {"waiting": 4, "in_review": 1, "capped": False}
    # An expired claim is waiting again, in the list and in the counts.
    later = utcnow() + services.CLAIM_DURATION + timedelta(minutes=1)
    waiting, _ = services.grader_queue(db, scope, "waiting", now=later)
    assert [e.submission_id for e in waiting] == expected
    assert services.queue_counts(db, scope, later) == {"waiting": 5, "in_review": 0, "capped": False}
    # Beyond the cap, the count stops and says so.
    monkeypatch.setattr(services, "QUEUE_COUNT_CAP", 3)
    assert services.queue_counts(db, scope) == {"waiting": 3, "in_review": 0, "capped": True}
    monkeypatch.setattr(services, "QUEUE_COUNT_CAP", 5)
    assert services.queue_counts(db, scope)["capped"] is False


def test_a_queue_of_several_courses_is_oldest_first_across_them_with_keyset_pages(db, capstone_setup, make_user,
                                                                                  enroll):
    """Several courses' queue: one order across the courses, pages that neither skip nor repeat, a course
    where the viewer holds two roles listed once. (On PostgreSQL this is the per-course reading.)"""
    from lms.auth.services import grant

    first = capstone_setup()
    second = capstone_setup(slug="second-course", learner_email="other@example.com")
    grant(db, first.grader, "grader", "second-course")
    grant(db, first.grader, "instructor", "capstone-course")  # two roles in one course
    db.commit()
    start = utcnow() - timedelta(days=3)
    expected = []
    for n in range(7):  # alternating courses, each older than the one before
        setup = (first, second)[n % 2]
        learner = make_user(f"several{n}@example.com", name=f"Several {n}")
        enrollment = enroll(learner, setup.course)
        services.save_draft(db, enrollment.id, setup.record(db), GOOD_TEXT, ["https://github.com/q/x"])
        db.flush()
        expected.insert(0, services.submit(db, enrollment.id, setup.record(db),
                                           now=start + timedelta(hours=10 - n)).id)
    db.commit()
    scope = services.QueueScope(first.grader.id)
    seen, cursor = [], None
    for _ in range(4):
        page, cursor = services.grader_queue(db, scope, after=cursor, limit=2)
        seen += [e.submission_id for e in page]
        if cursor is None:
            break
    assert seen == expected and cursor is None
    everything, _ = services.grader_queue(db, scope, "all")
    assert [e.submission_id for e in everything] == expected
    services.claim(db, expected[1], first.grader.id)
    db.commit()
    assert [e.submission_id for e in services.grader_queue(db, scope, "mine")[0]] == [expected[1]]
    assert [e.submission_id for e in services.grader_queue(db, scope, "waiting")[0]] == (
        expected[:1] + expected[2:])
    assert services.queue_counts(db, scope) == {"waiting": 6, "in_review": 1, "capped": False}


def test_the_queue_scope_is_the_graders_own_live_courses(db, capstone_setup, make_user):
    first = capstone_setup()
    second = capstone_setup(slug="second-course", learner_email="other@example.com")
    a = submitted(db, first)
    b = submitted(db, second)

    def ids(scope):
        return [e.submission_id for e in services.grader_queue(db, scope, "all")[0]]

    assert ids(services.QueueScope(first.grader.id)) == [a.id]  # graders see only the courses they grade
    assert ids(services.QueueScope(second.instructor.id)) == [b.id]  # instructors grade their course
    assert ids(services.QueueScope(first.learner.id)) == []  # a learner grades nothing
    admin = make_user("admin-queue@example.com", admin=True)
    assert sorted(ids(services.QueueScope(admin.id, every_course=True))) == sorted([a.id, b.id])
    assert ids(services.QueueScope(admin.id, course_id=second.course.id)) == [b.id]
    assert services.queue_counts(db, services.QueueScope(admin.id, every_course=True))["waiting"] == 2
    second.course.retired_at = utcnow()  # a retired course leaves every queue
    db.commit()
    assert ids(services.QueueScope(second.instructor.id)) == []
    assert ids(services.QueueScope(admin.id, every_course=True)) == [a.id]


# -- races on PostgreSQL (real concurrent transactions) -----------------------------------------------------

@pytest.mark.postgres_only
def test_two_graders_claiming_at_once_get_one_claim(app, db, capstone_setup, make_user):
    from lms.auth.services import grant

    setup = capstone_setup()
    submission = submitted(db, setup)
    other = make_user("racer@example.com", name="Rita Racer")
    grant(db, other, "grader", setup.course.slug)
    db.commit()
    graders = [setup.grader.id, other.id]
    results = race(app, lambda session, n: services.claim(session, submission.id, graders[n]).claimed_by_id)
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["error", "ok"], results
    loser = next(value for kind, value in results if kind == "error")
    assert isinstance(loser, services.ClaimTaken)
    winner = next(value for kind, value in results if kind == "ok")
    db.expire_all()
    assert db.get(Submission, submission.id).claimed_by_id == winner


@pytest.mark.postgres_only
def test_two_gradings_at_once_record_one_review(app, db, capstone_setup):
    setup = capstone_setup()
    submission = submitted(db, setup)
    services.claim(db, submission.id, setup.grader.id)
    db.commit()
    results = race(app, lambda session, n: services.grade(
        session, submission.id, setup.grader.id, services.Grading(FULL_MARKS, {}, f"review {n}"),
        can_override=False).id)
    assert sorted(kind for kind, _ in results) == ["error", "ok"], results
    loser = next(value for kind, value in results if kind == "error")
    assert isinstance(loser, services.AlreadyGraded), loser
    db.expire_all()
    assert len(db.scalars(select(Review)).all()) == 1
    assert len(db.scalars(select(ItemCompletion)).all()) == 1


def test_waiting_time_reads_like_the_queue_says_it():
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert [services.waiting_time(now - delta, now) for delta in (
        timedelta(seconds=20), timedelta(minutes=1), timedelta(minutes=59), timedelta(hours=1), timedelta(hours=5),
        timedelta(days=1), timedelta(days=3, hours=23), timedelta(seconds=-5))] == [
        "under a minute", "1 min", "59 min", "1 hour", "5 hours", "1 day", "3 days", "under a minute"]
