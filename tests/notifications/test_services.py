"""notify(), email choices, unsubscribe tokens, read state and the unread counter."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.auth.models import User
from lms.db import utcnow
from lms.errors import NotFound
from lms.jobs.models import Job
from lms.notifications import services
from lms.notifications.models import Notification


def _count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def _email_jobs(db) -> list[Job]:
    return list(db.scalars(select(Job).where(Job.kind == services.EMAIL_JOB)))


def test_notify_writes_the_notification_counts_it_and_queues_the_email(db, make_user):
    learner = make_user()
    note = services.notify(db, learner.id, "submission_graded", "Your capstone was graded", "Passed.",
                           link="/courses/demo")
    db.commit()
    assert (note.kind, note.title, note.body, note.link, note.read_at) == (
        "submission_graded", "Your capstone was graded", "Passed.", "/courses/demo", None)
    assert services.unread_count(db, learner.id) == 1
    [job] = _email_jobs(db)
    assert job.payload == {"user_id": learner.id, "kind": "submission_graded", "title": "Your capstone was graded",
                           "body": "Passed.", "link": "/courses/demo"}


def test_a_rolled_back_notify_leaves_no_notification_no_job_and_no_count(db, make_user):
    learner = make_user()
    services.notify(db, learner.id, "submission_graded", "Graded", "Passed.")
    db.rollback()
    assert _count(db, Notification) == 0
    assert _count(db, Job, Job.kind == services.EMAIL_JOB) == 0
    assert services.unread_count(db, learner.id) == 0


def test_email_off_means_in_app_only(db, make_user):
    learner = make_user()
    services.set_email_choice(db, learner.id, "submission_graded", False)
    services.notify(db, learner.id, "submission_graded", "Graded", "Passed.")
    services.notify(db, learner.id, "grader_digest", "Digest", "Nothing waits.", email=False)
    db.commit()
    assert _count(db, Notification, Notification.user_id == learner.id) == 2
    assert _email_jobs(db) == []


def test_defaults_apply_until_a_user_chooses(db, make_user):
    learner = make_user()
    assert services.email_choices(db, learner.id) == {name: kind.email_default
                                                      for name, kind in services.NOTIFICATION_KINDS.items()}
    assert services.set_email_choices(db, learner.id, {"submission_graded": False, "grader_digest": True}) == [
        "submission_graded"]
    services.set_email_choice(db, learner.id, "submission_graded", False)  # again: an upsert, no conflict
    db.commit()
    assert services.email_choices(db, learner.id)["submission_graded"] is False
    assert services.set_email_choices(db, learner.id, {"submission_graded": True}) == ["submission_graded"]
    db.commit()
    assert services.wants_email(db, learner.id, "submission_graded") is True


def test_unknown_kinds_and_outside_links_are_refused(db, make_user):
    learner = make_user()
    with pytest.raises(services.UnknownNotificationKind):
        services.notify(db, learner.id, "nope", "t", "b")
    with pytest.raises(services.UnknownNotificationKind):
        services.set_email_choice(db, learner.id, "nope", False)
    for link in ("https://evil.example/", "//evil.example/x", "relative/path", "/\\evil"):
        with pytest.raises(ValueError, match="path on this site"):
            services.notify(db, learner.id, "submission_graded", "t", "b", link=link)


def test_a_closed_account_gets_nothing(db, make_user):
    learner = make_user()
    db.get(User, learner.id).deleted_at = utcnow()
    db.commit()
    assert services.notify(db, learner.id, "submission_graded", "t", "b") is None
    db.commit()
    assert _count(db, Notification) == 0 and _email_jobs(db) == []


def test_long_titles_are_shortened_to_fit(db, make_user):
    learner = make_user()
    note = services.notify(db, learner.id, "submission_graded", "x" * 300, "b")
    db.commit()
    assert len(note.title) == 200 and note.title.endswith("…")


def test_register_kind_adds_a_kind_to_choose(db, make_user):
    kind = services.Kind("When I earn a credential", email_default=False, audience="learner")
    services.register_kind("test_credential_issued", kind)
    try:
        services.register_kind("test_credential_issued", kind)  # the same again is fine
        with pytest.raises(ValueError, match="already registered"):
            services.register_kind("test_credential_issued", services.Kind("Something else"))
        learner = make_user()
        assert "test_credential_issued" in services.kinds_for(db, learner.id)
        services.notify(db, learner.id, "test_credential_issued", "You earned a credential", "Congratulations.")
        db.commit()
        assert _email_jobs(db) == []  # its default is off
    finally:
        del services.NOTIFICATION_KINDS["test_credential_issued"]


def test_grader_kinds_are_offered_to_staff_only(db, make_user, make_course):
    from lms.auth.services import grant

    learner, grader, admin = make_user(), make_user(), make_user(admin=True)
    course = make_course()
    grant(db, db.get(User, grader.id), "grader", course.slug)
    db.commit()
    learner_kinds = services.kinds_for(db, learner.id)
    # Every kind a learner is offered is a learner's or everyone's (features register their own).
    assert "submission_graded" in learner_kinds
    assert all(services.NOTIFICATION_KINDS[k].audience in ("learner", "all") for k in learner_kinds)
    assert not {"submission_queued", "grader_digest"} & set(learner_kinds)
    assert set(services.kinds_for(db, grader.id)) >= {"submission_graded", "submission_queued", "grader_digest"}
    assert "grader_digest" in services.kinds_for(db, admin.id, is_admin=True)


def test_unsubscribe_tokens_are_bound_to_user_and_kind_and_signed(app, db, make_user):
    learner = make_user()
    token = services.unsubscribe_token(app.secret_key, learner.id, "submission_graded")
    assert services.read_unsubscribe_token(app.secret_key, token) == (learner.id, "submission_graded")
    with pytest.raises(services.InvalidUnsubscribeLink):
        services.read_unsubscribe_token(app.secret_key, token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(services.InvalidUnsubscribeLink):
        services.read_unsubscribe_token("another-secret", token)
    unknown_kind = services.unsubscribe_token(app.secret_key, learner.id, "gone_kind")
    with pytest.raises(services.InvalidUnsubscribeLink, match="no longer send"):
        services.read_unsubscribe_token(app.secret_key, unknown_kind)


def test_describe_changes_nothing_and_unsubscribe_is_idempotent(app, db, make_user):
    learner = make_user()
    token = services.unsubscribe_token(app.secret_key, learner.id, "submission_graded")
    assert services.describe_unsubscribe(db, app.secret_key, token).changed is True
    db.commit()
    assert services.wants_email(db, learner.id, "submission_graded") is True
    assert services.unsubscribe(db, app.secret_key, token).changed is True
    db.commit()
    assert services.unsubscribe(db, app.secret_key, token).changed is False
    assert services.wants_email(db, learner.id, "submission_graded") is False


def test_reading_keeps_the_counter_exact(db, make_user):
    learner, other = make_user(), make_user()
    notes = [services.notify(db, learner.id, "submission_graded", f"n{i}", "b") for i in range(3)]
    db.commit()
    services.mark_read(db, learner.id, notes[0].id)
    services.mark_read(db, learner.id, notes[0].id)  # twice counts once
    db.commit()
    assert services.unread_count(db, learner.id) == 2
    with pytest.raises(NotFound):
        services.mark_read(db, other.id, notes[1].id)  # not theirs
    db.rollback()
    assert services.mark_all_read(db, learner.id) == 2
    db.commit()
    assert services.unread_count(db, learner.id) == 0
    assert services.mark_all_read(db, learner.id) == 0
    assert _count(db, Notification, Notification.read_at.is_(None)) == 0


def test_the_list_is_newest_first_in_keyset_pages(db, make_user):
    learner, other = make_user(), make_user()
    ids = [services.notify(db, learner.id, "submission_graded", f"n{i}", "b").id for i in range(25)]
    services.notify(db, other.id, "submission_graded", "someone else's", "b")
    db.commit()
    first = services.list_notifications(db, learner.id)
    assert [n.id for n in first.items] == sorted(ids, reverse=True)[:20]
    assert first.next_before == first.items[-1].id
    second = services.list_notifications(db, learner.id, before=first.next_before)
    assert [n.id for n in second.items] == sorted(ids, reverse=True)[20:]
    assert second.next_before is None
