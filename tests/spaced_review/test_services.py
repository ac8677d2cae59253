"""Review cards: made from a real submitted attempt, moved through the Leitner boxes by review answers,
and never touching a grade. Every count is one statement."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from lms.catalog.models import Course
from lms.catalog.services import sync_courses
from lms.content import load_courses
from lms.db import utcnow
from lms.enrollments.models import ItemCompletion
from lms.quizzes import services as quizzes
from lms.quizzes.models import AttemptAnswer, QuizAttempt
from lms.spaced_review import services
from lms.spaced_review.models import LEARNED_BOX, ReviewCard
from tests.races import race
from tests.spaced_review.conftest import cards, form_for, submit

DAY = timedelta(days=1)


def _due(db, setup, now, **kwargs):
    return services.next_session(db, setup.user.id, now, **kwargs)


def _answer(db, setup, card, how="right", now=None):
    outcome = services.answer_card(db, setup.user.id, card.id, form_for(card, how), now)
    db.commit()
    return outcome


def _resync_quiz(db, app, courses_root, change):
    """Edit the quiz file with ``change`` (text -> text) and sync the course again."""
    path = courses_root / "quiz-course" / "01-module-1" / "09-check.md"
    path.write_text(change(path.read_text()))
    result = load_courses(courses_root / "quiz-course")
    assert result.ok, [str(p) for p in result.errors]
    sync_courses(db, result.courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()


# -- making cards ---------------------------------------------------------------------------------

def test_a_submitted_attempt_makes_a_box_1_card_per_missed_question(db, missed):
    setup, attempt = missed()
    made = cards(db)
    assert set(made) == {"single", "numerical"}  # the short answer and the multi were right
    for card in made.values():
        assert card.enrollment_id == setup.enrollment.id and card.quiz_item_id == setup.item.id
        assert (card.box, card.reviews, card.lapses) == (1, 0, 0)
        assert card.missed_at == attempt.submitted_at and card.due_at == attempt.submitted_at + DAY
    # Due the next day, not before.
    assert services.due_count(db, setup.user.id, attempt.submitted_at + timedelta(hours=23)) == 0
    assert services.due_count(db, setup.user.id, attempt.submitted_at + DAY) == 2


def test_partial_credit_and_unanswered_count_as_missed(db, quiz_setup):
    setup = quiz_setup()
    submit(db, setup, {"multi": "partial", "short": "blank"})
    answers = {a.status for a in db.scalars(select(AttemptAnswer))}
    assert {"partial", "unanswered"} <= answers
    assert set(cards(db)) == {"multi", "short"}


def test_an_essay_waiting_for_a_grader_makes_no_card_and_its_grading_resets_nothing(db, quiz_setup, make_user):
    setup = quiz_setup(essay=True)
    attempt = submit(db, setup, {"single": "wrong"})
    assert attempt.pending == 1 and set(cards(db)) == {"single"}
    # The learner reviews the card up to box 2; then the grader scores the essay at 0 points, which
    # sends the quiz event again for the same attempt.
    [card] = _due(db, setup, attempt.submitted_at + DAY)
    _answer(db, setup, card, "right", attempt.submitted_at + DAY)
    essay = db.scalar(select(AttemptAnswer).where(AttemptAnswer.status == "pending"))
    grader = make_user("grader@example.com")
    quizzes.grade_essay(db, essay.id, setup.course.id, grader.id, 0, "", utcnow())
    db.commit()
    after = cards(db)
    assert set(after) == {"single"}  # a graded essay is still not reviewable
    assert (after["single"].box, after["single"].lapses) == (2, 0)


def test_missed_again_in_a_later_attempt_goes_back_to_box_1_and_a_right_answer_changes_nothing(db, missed):
    setup, first = missed()
    later = first.submitted_at + DAY
    for card in _due(db, setup, later):
        _answer(db, setup, card, "right", later)
    assert {c.box for c in cards(db).values()} == {2}
    second = submit(db, setup, {"single": "wrong"}, now=later + timedelta(hours=1))
    made = cards(db)
    assert (made["single"].box, made["single"].lapses) == (1, 1)
    assert made["single"].missed_at == second.submitted_at and made["single"].due_at == second.submitted_at + DAY
    assert (made["numerical"].box, made["numerical"].lapses) == (2, 0)  # right this time: left where it was


def test_a_learned_card_missed_in_a_quiz_comes_back(db, missed):
    setup, first = missed()
    card_id = cards(db)["single"].id
    db.execute(update(ReviewCard).where(ReviewCard.id == card_id).values(box=LEARNED_BOX, reviews=4))
    db.commit()
    submit(db, setup, {"single": "wrong"}, now=first.submitted_at + 30 * DAY)
    assert (cards(db)["single"].box, cards(db)["single"].lapses) == (1, 1)


@pytest.mark.parametrize(("settings", "makes_cards"), [
    ("role: recertification", False),
    ("feedback: never", False),
    ("feedback: after_pass\npass_score: 60", True),  # (3 of 4 right: passed)
    ("feedback: after_pass\npass_score: 90", False),  # not passed: its answers are not shown yet
    ("role: placement", True),
    ("feedback: immediately", True),
])
def test_which_quizzes_make_cards(db, quiz_setup, settings, makes_cards):
    setup = quiz_setup(settings)
    submit(db, setup, {"single": "wrong"})
    assert bool(cards(db)) is makes_cards


def test_making_cards_changes_neither_the_attempt_nor_completions(db, quiz_setup):
    setup = quiz_setup()
    attempt = submit(db, setup, {"single": "wrong"})  # 3 of 4 right: passed, the item is completed
    assert cards(db)
    db.expire_all()
    stored = db.get(QuizAttempt, attempt.id)
    assert (stored.points_earned, stored.points_possible, stored.passed) == (3, 4, True)
    assert db.scalars(select(ItemCompletion.how)).all() == ["passed"]


# -- boxes ----------------------------------------------------------------------------------------

def test_right_answers_move_up_the_boxes_until_learned(db, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    seen = []
    for _ in range(4):
        card = next(c for c in _due(db, setup, now) if c.record.type == "single")
        outcome = _answer(db, setup, card, "right", now)
        assert outcome.correct and not outcome.already_answered
        seen.append((outcome.box, outcome.due_at - now))
        now = outcome.due_at
    assert seen == [(2, 3 * DAY), (3, 7 * DAY), (4, 14 * DAY), (5, timedelta(0))]
    card = cards(db)["single"]
    assert card.box == LEARNED_BOX and card.reviews == 4 and card.lapses == 0 and card.last_reviewed_at is not None
    # Learned: never due again, however late.
    far = now + 365 * DAY
    assert [c.record.type for c in _due(db, setup, far)] == ["numerical"]
    assert services.due_count(db, setup.user.id, far) == 1


def test_a_wrong_answer_or_i_dont_know_goes_back_to_box_1(db, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = next(c for c in _due(db, setup, now) if c.record.type == "single")
    up = _answer(db, setup, card, "right", now)
    card = next(c for c in _due(db, setup, up.due_at) if c.record.type == "single")
    wrong = _answer(db, setup, card, "wrong", up.due_at)
    assert not wrong.correct and wrong.status == "incorrect"
    assert (wrong.box, wrong.lapses, wrong.reviews, wrong.due_at) == (1, 1, 2, up.due_at + DAY)
    card = next(c for c in _due(db, setup, wrong.due_at) if c.record.type == "single")
    skipped = _answer(db, setup, card, "dont_know", wrong.due_at)
    assert (skipped.status, skipped.box, skipped.lapses) == ("unanswered", 1, 2)
    stored = cards(db)["single"]
    assert (stored.box, stored.lapses, stored.reviews) == (1, 2, 3)
    assert stored.last_answer["status"] == "unanswered"


def test_a_card_not_yet_due_cannot_be_answered(db, missed):
    setup, attempt = missed()
    [card, _other] = _due(db, setup, attempt.submitted_at + DAY)
    with pytest.raises(services.NotDueYet):
        services.answer_card(db, setup.user.id, card.id, form_for(card), attempt.submitted_at + timedelta(hours=2))
    assert cards(db)["single"].reviews == 0


def test_review_answers_leave_the_attempt_and_completions_as_they_were(db, quiz_setup):
    setup = quiz_setup("pass_score: 90")
    attempt = submit(db, setup, {"single": "wrong", "numerical": "wrong"})  # 2 of 4: not passed
    before = [(a.question_id, a.status, a.fraction, a.response) for a in
              db.scalars(select(AttemptAnswer).order_by(AttemptAnswer.id))]
    now = attempt.submitted_at + DAY
    for card in _due(db, setup, now):
        assert _answer(db, setup, card, "right", now).correct
    db.expire_all()
    stored = db.get(QuizAttempt, attempt.id)
    assert (stored.state, stored.points_earned, stored.points_possible, stored.passed) == ("submitted", 2, 4, False)
    assert [(a.question_id, a.status, a.fraction, a.response) for a in
            db.scalars(select(AttemptAnswer).order_by(AttemptAnswer.id))] == before
    assert db.scalar(select(ItemCompletion.id)) is None
    assert db.scalars(select(QuizAttempt.id)).all() == [attempt.id]


# -- races and bad input --------------------------------------------------------------------------

def test_the_same_answer_sent_twice_moves_the_card_once(db, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = next(c for c in _due(db, setup, now) if c.record.type == "single")
    first = _answer(db, setup, card, "right", now)
    again = _answer(db, setup, card, "wrong", now + timedelta(seconds=2))  # the second tab's form
    assert again.already_answered and again.correct and again.box == first.box == 2
    stored = cards(db)["single"]
    assert (stored.box, stored.reviews, stored.lapses) == (2, 1, 0)


def test_the_loser_of_a_race_between_read_and_update_answers_with_the_winners_result(db, app, missed, monkeypatch):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = next(c for c in _due(db, setup, now) if c.record.type == "single")
    stale = services._load(db, setup.user.id, card.id)  # both requests read the card before either writes
    stale = services._Loaded(ReviewCard(**{c: getattr(stale.card, c) for c in ("id", "box", "reviews", "lapses",
                                                                               "due_at", "last_answer")}),
                             stale.course_slug, stale.course_title, stale.quiz_title, stale.settings, stale.live_id)
    other = app.extensions["lms.sessionmaker"]()
    try:
        services.answer_card(other, setup.user.id, card.id, form_for(card, "right"), now)
        other.commit()
    finally:
        other.close()
    real_load, calls = services._load, []

    def load_stale_first(*args):
        calls.append(args)
        return stale if len(calls) == 1 else real_load(*args)

    monkeypatch.setattr(services, "_load", load_stale_first)
    outcome = services.answer_card(db, setup.user.id, card.id, form_for(card, "wrong"), now)
    db.commit()
    assert len(calls) == 2  # the conditional UPDATE changed nothing, so it re-read the card
    assert outcome.already_answered and outcome.correct and outcome.box == 2
    stored = cards(db)["single"]
    assert (stored.box, stored.reviews, stored.lapses) == (2, 1, 0)


@pytest.mark.postgres_only
def test_two_tabs_answering_at_once_move_the_card_once(db, app, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = next(c for c in _due(db, setup, now) if c.record.type == "single")
    forms = [form_for(card, "right"), form_for(card, "wrong")]
    results = race(app, lambda session, n: services.answer_card(session, setup.user.id, card.id, forms[n], now))
    assert [kind for kind, _ in results] == ["ok", "ok"], results
    outcomes = [value for _, value in results]
    assert sorted(o.already_answered for o in outcomes) == [False, True]
    winner = next(o for o in outcomes if not o.already_answered)
    assert all(o.box == winner.box and o.status == winner.status for o in outcomes)
    stored = cards(db)["single"]
    assert stored.reviews == 1 and stored.box == winner.box and stored.lapses == (0 if winner.correct else 1)


def test_someone_elses_card_and_a_missing_card_are_not_found(db, missed, make_user):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = _due(db, setup, now)[0]
    stranger = make_user("stranger@example.com")
    for user_id, card_id in ((stranger.id, card.id), (setup.user.id, card.id + 1000)):
        with pytest.raises(services.CardNotFound) as caught:
            services.answer_card(db, user_id, card_id, form_for(card), now)
        assert caught.value.status_code == 404
    with pytest.raises(services.CardNotFound):
        services.last_outcome(db, stranger.id, card.id)
    assert cards(db)["single"].reviews == 0


@pytest.mark.parametrize("form", [
    {},  # nothing at all
    {"reviews": "0", "action": "answer"},  # no answer chosen
    {"reviews": "zero", "action": "answer", "CHOICE": "0"},
    {"reviews": "7", "action": "answer", "CHOICE": "0"},  # a review count the card never had
    {"reviews": "0", "action": "answer", "CHOICE": "99"},  # an option that is not there
    {"reviews": "0", "action": "answer", "CHOICE": "-1"},
    {"reviews": "9" * 40, "action": "answer", "CHOICE": "0"},
])
def test_malformed_answers_are_refused_with_a_message_and_change_nothing(db, missed, form):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = next(c for c in _due(db, setup, now) if c.record.type == "single")
    data = MultiDict({(f"q{card.record.id}" if k == "CHOICE" else k): v for k, v in form.items()})
    with pytest.raises(services.MalformedAnswer) as caught:
        services.answer_card(db, setup.user.id, card.id, data, now)
    assert caught.value.status_code == 422 and caught.value.message
    db.rollback()
    assert (cards(db)["single"].reviews, cards(db)["single"].box) == (0, 1)


# -- what is not shown ----------------------------------------------------------------------------

def test_a_retired_question_is_skipped_and_cannot_be_answered(db, app, courses_root, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    single = next(c for c in _due(db, setup, now) if c.record.type == "single")
    _resync_quiz(db, app, courses_root,  # the single-choice question taken out of the quiz
                 lambda text: text.replace(text[text.index("## What does"):text.index("## Capital")], ""))
    assert [c.record.type for c in _due(db, setup, now)] == ["numerical"]
    assert services.due_count(db, setup.user.id, now) == 1
    assert services.due_counts_by_course(db, setup.user.id, now) == {setup.course.id: 1}
    with pytest.raises(services.CardNotFound, match="no longer part"):
        services.answer_card(db, setup.user.id, single.id, form_for(single), now)


def test_a_changed_question_keeps_its_card_and_is_reviewed_in_its_new_version(db, app, courses_root, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    old = next(c for c in _due(db, setup, now) if c.record.type == "numerical")
    _resync_quiz(db, app, courses_root, lambda text: text.replace("## What is 2.5 times 4?\n= 10",
                                                                  "## What is 2.5 times 4?\n= 10\n> Ten."))
    new = next(c for c in _due(db, setup, now) if c.record.type == "numerical")
    assert new.id == old.id and new.record.id != old.record.id and new.record.version == 2
    assert _answer(db, setup, new, "right", now).record.id == new.record.id


def test_a_retired_course_or_quiz_counts_nothing(db, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    assert services.due_count(db, setup.user.id, now) == 2
    course = db.get(Course, setup.course.id)
    course.retired_at = utcnow()
    db.commit()
    assert services.due_count(db, setup.user.id, now) == 0 and _due(db, setup, now) == []
    assert services.review_summary(db, setup.user.id, now) == []
    course.retired_at = None
    db.get(type(setup.item), setup.item.id).retired_at = utcnow()
    db.commit()
    assert services.due_count(db, setup.user.id, now) == 0


def test_counts_by_course_and_the_summary(db, missed):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    card = _due(db, setup, now)[0]
    up = _answer(db, setup, card, "right", now)
    assert services.due_counts_by_course(db, setup.user.id, now) == {setup.course.id: 1}
    [summary] = services.review_summary(db, setup.user.id, now)
    assert (summary.slug, summary.due, summary.active, summary.next_due) == ("quiz-course", 1, 2, up.due_at)
    assert services.due_counts_by_course(db, setup.user.id, attempt.submitted_at) == {}
    only_here = services.next_session(db, setup.user.id, now, course_id=setup.course.id + 1)
    assert only_here == []


def test_each_count_is_one_statement(db, missed, count_queries):
    setup, attempt = missed()
    now = attempt.submitted_at + DAY
    with count_queries() as counter:
        assert services.due_count(db, setup.user.id, now) == 2
    assert counter.count == 1
    with count_queries() as counter:
        assert services.due_counts_by_course(db, setup.user.id, now) == {setup.course.id: 2}
    assert counter.count == 1
    with count_queries() as counter:
        services.review_summary(db, setup.user.id, now)
    assert counter.count == 1
