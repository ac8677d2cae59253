"""The learner dashboard cache (decision 0026): database triggers stamp every write the dashboard
reads, whatever issues it; an entry is served only under the same stamps, verification state and
CSRF token, and never past the first moment time alone would change its text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup
from sqlalchemy import select, text

from lms.catalog.models import Item
from lms.credentials.models import Credential
from lms.enrollments.models import ItemCompletion
from lms.progress import dashboard_cache
from lms.progress.dashboard_cache import MAX_AGE, DashboardCache, fresh_until
from lms.spaced_review.models import ReviewCard
from tests.capstones.conftest import FULL_MARKS
from tests.credentials.conftest import grade
from tests.enrollments.test_adaptive_paths import _fail_quiz, _sync, _write

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _stamp(db, scope: str):
    db.commit()  # (a new transaction: see what other connections committed)
    return db.scalar(text("SELECT stamp FROM change_stamps WHERE scope = :scope"), {"scope": scope})


@pytest.fixture
def learner_everywhere(db, capstone_setup, courses_root, app, enroll):
    """A learner with a row in every table that stamps them: an enrollment, completions, quiz attempts
    and review cards (a failed quiz), a graded capstone and its credential."""
    setup = capstone_setup()
    grade(db, setup, FULL_MARKS)
    course = _sync(db, app, _write(courses_root, "quizzed", modules=1, module_quizzes=(1,)))
    enrollment = enroll(setup.learner, course)
    quiz_id = db.scalar(select(Item.id).where(Item.course_id == course.id, Item.kind == "quiz"))
    _fail_quiz(db, enrollment.id, quiz_id)
    assert db.scalar(select(ReviewCard.id).where(ReviewCard.enrollment_id == enrollment.id))
    assert db.scalar(select(Credential.id).where(Credential.user_id == setup.learner.id))
    return setup, enrollment


# table -> the learner's rows in it, by the user's id
LEARNER_ROWS = {
    "enrollments": "user_id = :uid",
    "credentials": "user_id = :uid",
    "item_completions": "enrollment_id IN (SELECT id FROM enrollments WHERE user_id = :uid)",
    "quiz_attempts": "enrollment_id IN (SELECT id FROM enrollments WHERE user_id = :uid)",
    "submissions": "enrollment_id IN (SELECT id FROM enrollments WHERE user_id = :uid)",
    "review_cards": "enrollment_id IN (SELECT id FROM enrollments WHERE user_id = :uid)",
}


@pytest.mark.parametrize("table", sorted(LEARNER_ROWS))
def test_any_update_of_a_learners_rows_replaces_their_stamp_and_no_one_elses(db, learner_everywhere, make_user,
                                                                              table):
    """Written as plain SQL, not through the ORM: the triggers see every writer."""
    setup, _ = learner_everywhere
    scope = f"learner:{setup.learner.id}"
    bystander = make_user("bystander@example.com")
    db.execute(text("INSERT INTO change_stamps (scope, stamp) VALUES (:scope, 7)"),
               {"scope": f"learner:{bystander.id}"})
    before = _stamp(db, scope)
    assert before is not None  # (the fixture's writes stamped the learner already)
    changed = db.execute(text(f"UPDATE {table} SET id = id WHERE {LEARNER_ROWS[table]}"),
                         {"uid": setup.learner.id}).rowcount
    assert changed >= 1
    assert _stamp(db, scope) != before
    assert _stamp(db, f"learner:{bystander.id}") == 7


def test_inserts_and_deletes_replace_the_stamp(db, learner_everywhere):
    setup, enrollment = learner_everywhere
    scope = f"learner:{setup.learner.id}"
    before = _stamp(db, scope)
    db.execute(text("DELETE FROM review_cards WHERE enrollment_id = :e"), {"e": enrollment.id})
    after_delete = _stamp(db, scope)
    assert after_delete != before
    lesson = db.scalar(select(Item.id).where(Item.course_id == enrollment.course_id, Item.kind == "lesson"))
    db.execute(text("DELETE FROM item_completions WHERE enrollment_id = :e AND item_id = :i"),
               {"e": enrollment.id, "i": lesson})
    db.add(ItemCompletion(enrollment_id=enrollment.id, item_id=lesson, how="read"))
    assert _stamp(db, scope) != after_delete


def test_deleting_an_account_with_its_rows_is_not_stopped_by_the_stamps(db, learner_everywhere):
    setup, _ = learner_everywhere
    db.execute(text("DELETE FROM users WHERE id = :uid"), {"uid": setup.learner.id})  # cascades
    db.commit()
    assert db.scalar(text("SELECT count(*) FROM enrollments WHERE user_id = :uid"), {"uid": setup.learner.id}) == 0


@pytest.mark.parametrize("table", ["courses", "pathways"])
def test_courses_and_pathways_stamp_the_catalog(db, catalog, table):
    before = _stamp(db, "catalog")
    assert db.execute(text(f"UPDATE {table} SET id = id")).rowcount >= 1
    assert _stamp(db, "catalog") != before


def test_the_dashboard_is_served_from_the_cache_until_a_write_by_anyone(app, auth, client, db, capstone_setup):
    """A grader's grading (another user, another session) shows on the learner's next dashboard."""
    setup = capstone_setup()
    auth.login(setup.learner.email)
    cache = app.extensions["lms.dashboard_cache"]
    first = client.get("/dashboard").get_data(as_text=True)
    assert len(cache) == 1 and "Submit your capstone project" in first
    assert client.get("/dashboard").get_data(as_text=True) == first
    grade(db, setup, FULL_MARKS)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Credential earned" in page and "Your credentials" in page


def test_a_changed_course_title_shows_on_the_next_dashboard(app, auth, client, db, courses_root, make_user, enroll):
    folder = _write(courses_root, "retitled", modules=1)
    course = _sync(db, app, folder)
    learner = make_user("reader@example.com")
    enroll(learner, course)
    auth.login("reader@example.com")
    assert "A new name" not in client.get("/dashboard").get_data(as_text=True)
    course_yml = folder / "course.yml"
    assert f"title: {course.title}" in course_yml.read_text()
    course_yml.write_text(course_yml.read_text().replace(f"title: {course.title}", "title: A new name"))
    _sync(db, app, folder)
    assert "A new name" in client.get("/dashboard").get_data(as_text=True)


def test_a_review_card_falling_due_shows_without_any_write(app, auth, client, db, courses_root, make_user, enroll,
                                                         monkeypatch):
    course = _sync(db, app, _write(courses_root, "reviewed", modules=1, module_quizzes=(1,)))
    learner = make_user("reviewer@example.com")
    enrollment = enroll(learner, course)
    quiz_id = db.scalar(select(Item.id).where(Item.course_id == course.id, Item.kind == "quiz"))
    _fail_quiz(db, enrollment.id, quiz_id)  # the missed questions are due tomorrow
    due_at = db.scalar(select(ReviewCard.due_at).where(ReviewCard.enrollment_id == enrollment.id))
    auth.login("reviewer@example.com")
    assert "due for a short review" not in client.get("/dashboard").get_data(as_text=True)
    monkeypatch.setattr("lms.progress.views.utcnow", lambda: due_at + timedelta(seconds=1))
    assert "due for a short review" in client.get("/dashboard").get_data(as_text=True)


def test_verifying_the_email_shows_at_once(app, auth, client, db, capstone_setup):
    """The users row is not stamped; its verification is part of what an entry is checked against."""
    setup = capstone_setup()
    setup.learner.email_verified_at = None
    db.commit()
    auth.login(setup.learner.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Confirm your email address" in page and "Verify your email address" in page
    setup.learner.email_verified_at = NOW
    db.commit()
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Confirm your email address" not in page  # (the greeting's notice, not cached)
    assert "Verify your email address" not in page  # (the credential blocker, in the cached part)


def test_each_session_has_its_own_entry_with_its_own_csrf_token(app, auth, client, db, capstone_setup):
    from tests.conftest import CSRF_INPUT, Auth

    setup = capstone_setup()
    auth.login(setup.learner.email)
    phone = app.test_client()
    Auth(phone).login(setup.learner.email)
    desktop_page = client.get("/dashboard").get_data(as_text=True)
    phone_page = phone.get("/dashboard").get_data(as_text=True)
    assert len(app.extensions["lms.dashboard_cache"]) == 2
    assert set(CSRF_INPUT.findall(desktop_page)).isdisjoint(CSRF_INPUT.findall(phone_page))


# -- the cache and its freshness, alone -----------------------------------------------------------

def test_an_entry_is_served_only_under_the_same_stamps_verification_token_and_time():
    cache = DashboardCache(10)
    body = Markup("<p>cards</p>")
    cache.put(1, "token", (5, 9), True, NOW + timedelta(minutes=5), body)
    assert cache.get(1, "token", (5, 9), True, NOW) is body
    assert cache.get(1, "token", (6, 9), True, NOW) is None  # the learner's rows changed
    assert cache.get(1, "token", (5, 8), True, NOW) is None  # the catalog changed
    assert cache.get(1, "token", (5, 9), False, NOW) is None
    assert cache.get(1, "other", (5, 9), True, NOW) is None
    assert cache.get(1, None, (5, 9), True, NOW) is None
    assert cache.get(2, "token", (5, 9), True, NOW) is None
    assert cache.get(1, "token", (5, 9), True, NOW + timedelta(minutes=5)) is None


def test_a_full_cache_starts_over_and_size_zero_keeps_nothing():
    cache = DashboardCache(2)
    for user_id in (1, 2, 3):
        cache.put(user_id, "t", (1, 1), True, NOW + MAX_AGE, Markup(""))
    assert len(cache) == 1 and cache.get(3, "t", (1, 1), True, NOW) is not None
    off = DashboardCache(0)
    off.put(1, "t", (1, 1), True, NOW + MAX_AGE, Markup(""))
    assert len(off) == 0


def test_fresh_until_is_the_first_moment_time_changes_the_text():
    assert fresh_until(NOW, next_review_due=None, expiries=[]) == NOW + MAX_AGE
    late = datetime(2026, 12, 7, 23, 55, tzinfo=UTC)
    assert fresh_until(late, next_review_due=None, expiries=[]) == datetime(2026, 12, 8, tzinfo=UTC)
    due = NOW + timedelta(minutes=3)
    assert fresh_until(NOW, next_review_due=due, expiries=[]) == due
    # Expires in 3 days and 2 minutes: "expires in 3 days" until 2 minutes from now.
    valid_until = NOW + timedelta(days=3, minutes=2)
    assert fresh_until(NOW, next_review_due=None,
                       expiries=[(valid_until, valid_until - timedelta(days=30))]) == NOW + timedelta(minutes=2)
    # A renewal window opening in a minute; an expiry already past counts no more.
    opens = NOW + timedelta(minutes=1)
    assert fresh_until(NOW, next_review_due=None,
                       expiries=[(NOW + timedelta(days=30, hours=5), opens), (NOW - timedelta(days=1),
                                                                               NOW - timedelta(days=31))]) == opens


def test_stamps_are_read_in_one_statement(app, db, count_queries, make_user):
    learner = make_user("stamped@example.com")
    with app.app_context(), count_queries() as counter:
        assert dashboard_cache.stamps(db, learner.id)[0] is None  # nothing written for them yet
    assert counter.count == 1


def test_a_write_whose_own_conflict_policy_differs_still_stamps(db, learner_everywhere):
    """SQLite lets a statement's conflict policy (``INSERT OR IGNORE``) override its triggers' own: the
    triggers upsert, which is not a policy, so the stamp still changes."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("INSERT OR IGNORE is SQLite's")
    setup, enrollment = learner_everywhere
    scope = f"learner:{setup.learner.id}"
    lesson = db.scalar(select(Item.id).where(Item.course_id == enrollment.course_id, Item.kind == "lesson"))
    db.execute(text("DELETE FROM item_completions WHERE enrollment_id = :e AND item_id = :i"),
               {"e": enrollment.id, "i": lesson})
    deleted = _stamp(db, scope)
    inserted = db.execute(text("INSERT OR IGNORE INTO item_completions (enrollment_id, item_id, how, completed_at) "
                               "VALUES (:e, :i, 'read', '2026-12-07 12:00:00')"), {"e": enrollment.id, "i": lesson})
    assert inserted.rowcount == 1
    assert _stamp(db, scope) != deleted
