"""`flask seed`: exact counts, determinism, pages over generated data, verifiable credentials, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from lms.auth.models import User
from lms.capstones.models import Review, Submission
from lms.catalog.models import Course, Item
from lms.credentials.issuance import signing_issuer
from lms.credentials.models import Credential, StatusList
from lms.credentials.verification import verify_credential
from lms.enrollments.models import Enrollment
from lms.quizzes.models import AttemptAnswer, QuizAttempt
from lms.seed import services
from lms.seed.sizes import SIZES, Size
from tests.conftest import PASSWORD, _clear_process_caches, _empty_all_tables

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TINY = Size(learners=12, courses=2, enrollments=20, quiz_attempts=60, submissions=14, credentials=5)


def _seed(db, hasher, tmp_path, size=TINY, seed=7):
    report = services.seed(db, hasher, size, seed=seed, password=PASSWORD, now=NOW,
                           courses_dir=tmp_path / "seed-courses", processes=1)
    db.commit()
    return report


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_size_s_has_exactly_its_rows(db, hasher, tmp_path):
    size = SIZES["S"]
    report = _seed(db, hasher, tmp_path, size)
    assert _count(db, User) == size.learners + size.staff
    assert _count(db, Course) == size.courses
    assert _count(db, Enrollment) == size.enrollments
    assert _count(db, QuizAttempt) == size.quiz_attempts
    assert _count(db, AttemptAnswer) == 5 * size.quiz_attempts  # every generated quiz has five questions
    assert _count(db, Submission) == size.submissions
    assert _count(db, Credential) == size.credentials
    states = dict(db.execute(select(Submission.state, func.count()).group_by(Submission.state)).all())
    assert set(states) == {"draft", "submitted", "in_review", "needs_revision", "passed", "not_passed"}
    assert states["passed"] == size.credentials
    assert _count(db, Review) == sum(states[s] for s in ("passed", "needs_revision", "not_passed"))
    assert db.scalar(select(func.count()).select_from(Credential).where(Credential.revoked_at.is_not(None))) >= 1
    assert db.scalar(select(func.count()).select_from(Credential).where(Credential.valid_until.is_not(None))) >= 1
    passes = dict(db.execute(select(QuizAttempt.passed, func.count()).group_by(QuizAttempt.passed)).all())
    assert passes[True] and passes[False]
    assert report.learner_email and report.credential_path


def test_the_app_inserts_after_a_seed(db, hasher, tmp_path, make_user):
    """Sequences continue after the bulk-loaded ids (PostgreSQL's COPY does not move them)."""
    _seed(db, hasher, tmp_path)
    user = make_user("after.seed@example.com")
    assert user.id == db.scalar(select(func.max(User.id)))


def _learner_stamp(db, user_id):
    return db.scalar(text("SELECT stamp FROM change_stamps WHERE scope = :s"), {"s": f"learner:{user_id}"})


def test_the_load_runs_without_the_change_stamp_triggers_and_they_work_after_it(db, hasher, tmp_path):
    _seed(db, hasher, tmp_path)
    enrollment = db.scalar(select(Enrollment).order_by(Enrollment.id).limit(1))
    assert _learner_stamp(db, enrollment.user_id) is None  # (not stamped row by row)
    db.execute(text("UPDATE enrollments SET track = track WHERE id = :id"), {"id": enrollment.id})
    assert _learner_stamp(db, enrollment.user_id) is not None


def _snapshot(db) -> dict:
    return {
        "users": db.execute(select(User.id, User.email, User.name, User.created_at, User.unread_notifications)
                            .order_by(User.id)).all(),
        "enrollments": db.execute(select(Enrollment.id, Enrollment.user_id, Enrollment.course_id, Enrollment.track,
                                         Enrollment.enrolled_at, Enrollment.last_activity_at)
                                  .order_by(Enrollment.id)).all(),
        "attempts": db.execute(select(QuizAttempt.id, QuizAttempt.enrollment_id, QuizAttempt.quiz_item_id,
                                      QuizAttempt.number, QuizAttempt.submitted_at, QuizAttempt.points_earned)
                               .order_by(QuizAttempt.id)).all(),
        "submissions": db.execute(select(Submission.id, Submission.state, Submission.version, Submission.submitted_at)
                                  .order_by(Submission.id)).all(),
        "credentials": db.execute(select(Credential.public_id, Credential.user_id, Credential.status_index,
                                         Credential.document).order_by(Credential.id)).all(),
    }


def test_the_same_seed_gives_the_same_data(app, db, hasher, tmp_path):
    _seed(db, hasher, tmp_path)
    first = _snapshot(db)
    db.close()
    _empty_all_tables(app.extensions["lms.engine"])
    _clear_process_caches()
    _seed(db, hasher, tmp_path)
    assert _snapshot(db) == first  # (same key in the instance: Ed25519 signatures are deterministic too)
    db.close()
    _empty_all_tables(app.extensions["lms.engine"])
    _clear_process_caches()
    _seed(db, hasher, tmp_path, seed=8)
    assert _snapshot(db)["attempts"] != first["attempts"]


def test_a_generated_learner_logs_in_and_the_pages_answer(db, hasher, tmp_path, client, auth):
    report = _seed(db, hasher, tmp_path)
    assert auth.login(report.learner_email, PASSWORD).status_code == 302
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200
    course = db.scalars(select(Course).order_by(Course.id)).first()
    assert course.title in dashboard.get_data(as_text=True) or "seed-" in dashboard.get_data(as_text=True)
    lesson = db.execute(select(Item.slug, Item.module_id).where(Item.course_id == course.id, Item.kind == "lesson")
                        .order_by(Item.id)).first()
    quiz = db.execute(select(Item.slug, Item.module_id).where(Item.course_id == course.id, Item.kind == "quiz")
                      .order_by(Item.id)).first()
    from lms.catalog.models import Module

    for slug, module_id in (lesson, quiz):
        module = db.scalar(select(Module.slug).where(Module.id == module_id))
        assert client.get(f"/courses/{course.slug}/{module}/{slug}").status_code == 200
    assert client.get(f"/courses/{course.slug}/capstone").status_code == 200
    assert client.get(report.credential_path).status_code == 200
    auth.logout()
    auth.login(report.instructor_email, PASSWORD)
    assert client.get(f"/teach/{course.slug}").status_code == 200
    assert client.get(f"/courses/{course.slug}/credentials").status_code == 200
    auth.logout()
    auth.login(report.grader_email, PASSWORD)
    queue = client.get("/grading")
    assert queue.status_code == 200


def test_the_signed_credentials_verify(app, db, hasher, tmp_path):
    _seed(db, hasher, tmp_path)
    issuer = signing_issuer(app.config["LMS_SETTINGS"])
    lists = {listing.id: listing.document for listing in db.scalars(select(StatusList))}

    def fetch(url: str) -> dict:
        return lists[int(url.rsplit("/", 1)[1])]

    statuses = []
    for credential in db.scalars(select(Credential).order_by(Credential.id)):
        verdict = verify_credential(credential.document, issuer.resolve, fetch_status_list=fetch, now=NOW)
        assert verdict.authentic, verdict.reasons
        statuses.append(verdict.status)
        expected = "revoked" if credential.revoked_at else (
            "expired" if credential.valid_until and credential.valid_until < NOW else "valid")
        assert verdict.status == expected, verdict.reasons
    assert len(statuses) == TINY.credentials


def test_refused_when_the_database_holds_accounts(db, hasher, tmp_path, make_user):
    make_user("someone@example.com")
    with pytest.raises(services.SeedRefused, match="already holds 1 account"):
        services.seed(db, hasher, TINY, seed=1, password=PASSWORD, now=NOW, courses_dir=tmp_path / "c")
    db.rollback()
    assert _count(db, Course) == 0


def test_refused_when_not_migrated(tmp_path):
    from lms import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"))
    session = app.extensions["lms.sessionmaker"]()
    try:
        with pytest.raises(services.SeedRefused, match="flask db upgrade"):
            services.check_ready(session)
    finally:
        session.close()
        app.extensions["lms.engine"].dispose()


def test_the_command_refuses_a_database_with_accounts(app, make_user):
    make_user("someone@example.com")
    result = app.test_cli_runner().invoke(args=["seed", "--size", "S"])
    assert result.exit_code == 1
    assert "already holds 1 account" in result.output and "Nothing was written" in result.output


def test_an_unknown_size_is_a_click_error(app):
    result = app.test_cli_runner().invoke(args=["seed", "--size", "XL"])
    assert result.exit_code == 2
    assert "Invalid value for '--size': 'XL' is not one of" in result.output


def _enabled_triggers(db) -> int:
    if db.get_bind().dialect.name == "postgresql":
        return db.scalar(text("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"))
    return db.scalar(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"))


def test_a_failed_load_leaves_nothing(app, db, monkeypatch):
    before = _enabled_triggers(db)
    assert before > 0

    def broken(*args, **kwargs):
        raise RuntimeError("signing failed")

    monkeypatch.setattr(services, "_credentials", broken)
    result = app.test_cli_runner().invoke(args=["seed", "--size", "S"])
    assert result.exit_code != 0 and isinstance(result.exception, RuntimeError)
    db.rollback()
    assert _count(db, User) == 0 and _count(db, Course) == 0 and _count(db, Enrollment) == 0
    # The triggers the load turned off are on again (the rollback undid that too).
    assert _enabled_triggers(db) == before


def test_the_command_prints_the_password_and_timings(app, db):
    result = app.test_cli_runner().invoke(args=["seed", "--size", "s", "--password", "seed-password-1"])
    assert result.exit_code == 0, result.output
    if db.get_bind().dialect.name == "postgresql":  # vacuumed after the commit, as autovacuum would
        assert "vacuum (after the commit)" in result.output
        db.rollback()
        assert db.scalar(text("SELECT last_vacuum IS NOT NULL FROM pg_stat_user_tables "
                              "WHERE relname = 'submissions'"))
    assert "password of every generated account: seed-password-1" in result.output
    assert "table attempt_answers" in result.output and "seeded size S" in result.output
    db.rollback()
    assert _count(db, User) == SIZES["S"].learners + SIZES["S"].staff


def test_the_rows_are_consistent_with_what_the_product_would_decide(db, hasher, tmp_path):
    """Nobody is owed a credential the seed did not issue, and the catalog's rating sums match the reviews."""
    from lms.course_reviews.services import reconcile_summaries
    from lms.credentials.issuance import reconcile

    _seed(db, hasher, tmp_path, SIZES["S"])

    assert db.scalar(select(func.count()).select_from(Credential).where(Credential.revoked_at.is_not(None))) >= 1
    report = reconcile(db)
    # (holders of a revoked credential included: a revocation is never undone by issuing again)
    assert report.issued == []
    assert reconcile_summaries(db) == []
    db.rollback()
