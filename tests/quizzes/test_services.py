"""Attempts: drawing, resuming, limits, deadlines, grading once, and what a pass records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.db import utcnow
from lms.enrollments.models import ItemCompletion
from lms.questions.model import MultipleResponse, SingleChoice
from lms.quizzes import services
from lms.quizzes.models import AttemptAnswer, QuizAttempt


def _responses(db, attempt, right: bool = True) -> dict[int, object]:
    """Answers by question type: all right, or all wrong."""
    out = {}
    for entry in attempt.layout:
        version = db.get(services.QuestionVersion, entry["question_id"])
        question = services.load_question(version)
        if isinstance(question, SingleChoice):
            out[version.id] = 0 if right else 1
        elif isinstance(question, MultipleResponse):
            out[version.id] = [0, 1] if right else [2]
        elif question.type == "short":
            out[version.id] = "paris" if right else "Lyon"
        elif question.type == "numerical":
            out[version.id] = "10" if right else "11"
        elif question.type == "essay":
            out[version.id] = "Because packages differ per project."
    return out


def test_start_draws_once_and_resumes(db, quiz_setup):
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    first = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    db.commit()
    again = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    assert again.id == first.id and again.layout == first.layout
    assert first.number == 1 and len(first.layout) == 4
    assert services.build_layout(quiz.questions, quiz.settings, first.seed) == first.layout


def test_draw_and_shuffle_are_reproducible_from_the_seed(db, quiz_setup):
    setup = quiz_setup("draw: 2\nshuffle_questions: true")
    quiz = services.get_quiz(db, setup.item.id)
    layouts = {str(services.build_layout(quiz.questions, quiz.settings, seed)) for seed in range(30)}
    assert len(layouts) > 5  # different seeds draw differently
    assert all(len(services.build_layout(quiz.questions, quiz.settings, s)) == 2 for s in range(5))
    assert services.build_layout(quiz.questions, quiz.settings, 7) == services.build_layout(
        quiz.questions, quiz.settings, 7)


def test_submit_grades_and_a_pass_completes_the_quiz(db, quiz_setup):
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, attempt, _responses(db, attempt), utcnow())
    graded = services.submit_attempt(db, attempt.id, utcnow())
    db.commit()
    assert graded.state == "submitted" and graded.points_earned == 4 and graded.points_possible == 4
    assert graded.passed is True and graded.percent == 100
    completion = db.scalar(select(ItemCompletion).where(ItemCompletion.item_id == setup.item.id))
    assert completion is not None and completion.how == "passed"


def test_a_failed_attempt_records_no_completion_and_unanswered_counts_zero(db, quiz_setup):
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    responses = _responses(db, attempt, right=False)
    services.save_responses(db, attempt, dict(list(responses.items())[:2]), utcnow())
    graded = services.submit_attempt(db, attempt.id, utcnow())
    db.commit()
    assert graded.passed is False and graded.points_earned == 0
    statuses = sorted(a.status for a in db.scalars(select(AttemptAnswer)))
    assert statuses == ["incorrect", "incorrect", "unanswered", "unanswered"]
    assert db.scalar(select(ItemCompletion.id)) is None


def test_submitting_twice_grades_once(db, quiz_setup):
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, attempt, _responses(db, attempt), utcnow())
    first = services.submit_attempt(db, attempt.id, utcnow())
    submitted_at = first.submitted_at
    second = services.submit_attempt(db, attempt.id, utcnow() + timedelta(seconds=5))
    db.commit()
    assert second.submitted_at == submitted_at and second.points_earned == 4
    assert len(db.scalars(select(ItemCompletion)).all()) == 1


def test_answers_after_submission_are_refused(db, quiz_setup):
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.submit_attempt(db, attempt.id, utcnow())
    with pytest.raises(services.AttemptClosed):
        services.save_responses(db, attempt, _responses(db, attempt), utcnow())


def test_the_deadline_is_enforced_with_a_short_grace(db, quiz_setup):
    setup = quiz_setup("time_limit: 10")
    quiz = services.get_quiz(db, setup.item.id)
    start = utcnow()
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, start)
    assert attempt.deadline == start + timedelta(minutes=10)
    responses = _responses(db, attempt)
    first_id = attempt.layout[0]["question_id"]
    services.save_responses(db, attempt, {first_id: responses[first_id]}, start + timedelta(minutes=10, seconds=20))
    with pytest.raises(services.AttemptClosed, match="Time is up"):
        services.save_responses(db, attempt, responses, start + timedelta(minutes=11))
    db.commit()
    db.refresh(attempt)
    assert attempt.state == "submitted" and attempt.points_earned == 1  # only what was saved in time


def test_an_expired_open_attempt_is_submitted_when_the_learner_comes_back(db, quiz_setup):
    setup = quiz_setup("time_limit: 5")
    quiz = services.get_quiz(db, setup.item.id)
    start = utcnow()
    old = services.start_attempt(db, setup.enrollment.id, quiz, start)
    new = services.start_attempt(db, setup.enrollment.id, quiz, start + timedelta(hours=1))
    db.commit()
    assert new.id != old.id and new.number == 2
    db.refresh(old)
    assert old.state == "submitted"


def test_attempt_limit_and_delay(db, quiz_setup):
    setup = quiz_setup("attempts: 2\ndelay: 10")
    quiz = services.get_quiz(db, setup.item.id)
    now = utcnow()
    first = services.start_attempt(db, setup.enrollment.id, quiz, now)
    services.submit_attempt(db, first.id, now)
    with pytest.raises(services.TooSoon, match="in 10 minutes"):
        services.start_attempt(db, setup.enrollment.id, quiz, now + timedelta(seconds=30))
    second = services.start_attempt(db, setup.enrollment.id, quiz, now + timedelta(minutes=11))
    services.submit_attempt(db, second.id, now + timedelta(minutes=11))
    with pytest.raises(services.AttemptLimitReached, match="all 2 attempts"):
        services.start_attempt(db, setup.enrollment.id, quiz, now + timedelta(hours=1))


def test_immediate_check_makes_an_answer_final(db, quiz_setup):
    setup = quiz_setup("feedback: immediately")
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    responses = _responses(db, attempt, right=False)
    qid = next(iter(responses))
    services.save_responses(db, attempt, {qid: responses[qid]}, utcnow())
    checked = services.check_answer(db, attempt, qid, utcnow())
    assert checked.status in ("incorrect", "partial") and checked.checked_at is not None
    right = _responses(db, attempt)
    services.save_responses(db, attempt, {qid: right[qid]}, utcnow())  # too late: final
    db.expire_all()
    assert db.scalar(select(AttemptAnswer.response).where(AttemptAnswer.question_id == qid)) == responses[qid]


def test_essays_leave_the_attempt_pending(db, quiz_setup):
    setup = quiz_setup(essay=True)
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, attempt, _responses(db, attempt), utcnow())
    graded = services.submit_attempt(db, attempt.id, utcnow())
    assert graded.pending == 1 and graded.passed is None


def test_counted_attempt_highest_or_latest(db, quiz_setup):
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    good = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, good, _responses(db, good), utcnow())
    services.submit_attempt(db, good.id, utcnow())
    bad = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.submit_attempt(db, bad.id, utcnow())
    attempts = services.attempts_of(db, setup.enrollment.id, setup.item.id)
    assert services.counted_attempt(attempts, "highest").id == good.id
    assert services.counted_attempt(attempts, "latest").id == bad.id


def test_one_open_attempt_per_learner_is_a_database_rule(db, quiz_setup):
    from sqlalchemy.exc import IntegrityError

    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    db.commit()
    db.add(QuizAttempt(enrollment_id=setup.enrollment.id, quiz_item_id=setup.item.id, number=2, seed=1,
                       state="open", layout=attempt.layout))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_two_submissions_racing_grade_once(app, db, quiz_setup):
    """Two requests submit the same attempt at the same moment (a double click, two tabs)."""
    import threading

    from lms.quizzes.services import quiz_submitted

    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    services.save_responses(db, attempt, _responses(db, attempt), utcnow())
    db.commit()
    graded: list[int] = []

    def record(sender, attempt):
        graded.append(attempt.id)

    quiz_submitted.connect(record)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit():
        session = app.extensions["lms.sessionmaker"]()
        try:
            barrier.wait(timeout=10)
            services.submit_attempt(session, attempt.id, utcnow())
            session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            session.rollback()
        finally:
            session.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    quiz_submitted.disconnect(record)
    assert errors == []
    assert graded == [attempt.id]  # graded exactly once
    db.expire_all()
    assert len(db.scalars(select(ItemCompletion)).all()) == 1
    assert db.get(QuizAttempt, attempt.id).points_earned == 4


def test_a_sync_never_changes_past_grades_an_audited_regrade_does(app, db, quiz_setup, courses_root):
    from lms.audit.models import AuditEvent
    from lms.catalog.services import sync_courses
    from lms.content import load_courses

    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    responses = _responses(db, attempt)
    services.save_responses(db, attempt, responses, utcnow())
    services.submit_attempt(db, attempt.id, utcnow())
    db.commit()
    # The author fixes the capital question: Lyon was the intended answer (for the test's sake).
    quiz_file = courses_root / "quiz-course" / "01-module-1" / "09-check.md"
    quiz_file.write_text(quiz_file.read_text().replace("= Paris", "= Lyon"))
    sync_courses(db, load_courses(courses_root / "quiz-course").courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    db.expire_all()
    assert db.get(QuizAttempt, attempt.id).points_earned == 4  # the sync changed no grade
    preview = services.regrade_question(db, setup.item.id, "capital-of-france", None, utcnow(), dry_run=True)
    assert [(c.before, c.after) for c in preview] == [(1.0, 0.0)]
    db.rollback()
    assert db.get(QuizAttempt, attempt.id).points_earned == 4
    services.regrade_question(db, setup.item.id, "capital-of-france", None, utcnow())
    db.commit()
    db.expire_all()
    assert db.get(QuizAttempt, attempt.id).points_earned == 3
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "quiz.regrade")).one()
    assert event.data["answers_changed"] == 1 and event.data["question_key"] == "capital-of-france"
    # the pass stays recorded: regrades never take a completion away
    assert db.scalar(select(ItemCompletion.how)) == "passed"


def test_regrade_refuses_a_question_whose_answers_changed_shape(app, db, quiz_setup, courses_root):
    from lms.catalog.services import sync_courses
    from lms.content import load_courses

    setup = quiz_setup()
    quiz_file = courses_root / "quiz-course" / "01-module-1" / "09-check.md"
    quiz_file.write_text(quiz_file.read_text().replace("- [ ] 3\n", ""))
    sync_courses(db, load_courses(courses_root / "quiz-course").courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    with pytest.raises(services.DomainError, match="different kind of answer"):
        services.regrade_question(db, setup.item.id, "what-does-len-1-2-return", None, utcnow())


def test_two_starts_racing_make_one_attempt(app, db, quiz_setup):
    """Two tabs start the quiz at once: both land on the same open attempt, and no request fails."""
    import threading

    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    db.commit()
    barrier = threading.Barrier(2)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def start():
        session = app.extensions["lms.sessionmaker"]()
        try:
            barrier.wait(timeout=10)
            numbers.append(services.start_attempt(session, setup.enrollment.id, quiz, utcnow()).number)
            session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            session.rollback()
        finally:
            session.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert numbers == [1, 1]
    assert len(db.scalars(select(QuizAttempt)).all()) == 1


def test_a_start_that_loses_the_insert_returns_the_winners_attempt(db, quiz_setup, monkeypatch):
    """The other request's attempt appeared between our look and our insert (the race, made certain)."""
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    winner = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    db.commit()
    # Our request saw no open attempt: the summary query is made to say so.
    monkeypatch.setattr(services, "_ATTEMPT_SUMMARY", services._ATTEMPT_SUMMARY.where(QuizAttempt.id != winner.id))
    loser = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    db.commit()
    assert loser.id == winner.id and loser.number == 1
    assert len(db.scalars(select(QuizAttempt)).all()) == 1


def test_a_save_from_a_stale_page_after_a_submit_elsewhere_is_refused(app, db, quiz_setup):
    """Tab A still shows the attempt open; tab B submitted it. A's autosave must not touch the answers."""
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    db.commit()
    other = app.extensions["lms.sessionmaker"]()
    try:
        services.submit_attempt(other, attempt.id, utcnow())
        other.commit()
    finally:
        other.close()
    assert attempt.state == "open"  # what tab A's request still believes
    with pytest.raises(services.AttemptClosed):
        services.save_responses(db, attempt, _responses(db, attempt), utcnow())
    db.rollback()
    responses = db.scalars(select(AttemptAnswer.response).where(AttemptAnswer.attempt_id == attempt.id)).all()
    assert responses and all(response is None for response in responses)  # as submitted: unanswered


def test_a_submit_grades_over_an_answer_autosaved_meanwhile(app, db, quiz_setup):
    """An autosave lands after the submit read the answers but before it claimed the attempt: the
    submitted answers and their scores win, and the submit does not fail on the existing row."""
    setup = quiz_setup()
    quiz = services.get_quiz(db, setup.item.id)
    attempt = services.start_attempt(db, setup.enrollment.id, quiz, utcnow())
    db.commit()
    right = _responses(db, attempt)
    first_id = attempt.layout[0]["question_id"]
    real_grade = services._grade

    def grade_then_autosave(session, attempt_, now, quiz_, responses):
        grading = real_grade(session, attempt_, now, quiz_, responses)
        other = app.extensions["lms.sessionmaker"]()
        try:
            stale = other.get(QuizAttempt, attempt.id)
            services.save_responses(other, stale, {first_id: _responses(other, stale, right=False)[first_id]},
                                    utcnow())
            other.commit()
        finally:
            other.close()
        return grading

    services._grade = grade_then_autosave
    try:
        graded = services.submit_attempt(db, attempt.id, utcnow(), quiz, right)
        db.commit()
    finally:
        services._grade = real_grade
    assert graded.points_earned == 4 and graded.passed
    db.expire_all()
    answer = db.scalar(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id,
                                                   AttemptAnswer.question_id == first_id))
    assert answer.response == right[first_id] and answer.status == "correct"
