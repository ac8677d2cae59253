"""Course review services: who may review, one review per learner, the rating summary kept equal to the
live aggregate through creates, edits and deletes, validation, sanitizing, replies and their rights."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from lms.audit.models import AuditEvent
from lms.auth.services import grant
from lms.catalog.models import Course
from lms.catalog.services import get_outline
from lms.course_reviews import services
from lms.course_reviews.models import CourseReview
from lms.db import utcnow
from lms.enrollments.services import complete_item, get_enrollment
from lms.notifications.models import Notification
from tests.course_reviews.conftest import live_summary, stored_summary
from tests.races import race


def _save(db, user, course, rating=4, body="Useful.", now=None):
    saved = services.save_review(db, user.id, course, rating, body, now)
    db.commit()
    return saved


# -- who may review ------------------------------------------------------------------------------------

def test_only_a_learner_who_completed_every_step_may_review(db, course, make_user, learner_who):
    stranger = make_user("stranger@example.com")
    with pytest.raises(services.NotEligible, match="you are not enrolled"):
        services.save_review(db, stranger.id, course, 5, "", utcnow())
    halfway = learner_who(course, share=0.5)
    with pytest.raises(services.NotEligible) as failure:
        services.save_review(db, halfway.id, course, 5, "", utcnow())
    assert failure.value.message == "Complete the course to review it: 3 of 6 steps done."
    assert failure.value.status_code == 403
    db.rollback()
    assert db.scalar(select(func.count(CourseReview.id))) == 0
    assert stored_summary(db, course.id) == (0, 0)

    done = learner_who(course, email="done@example.com")
    saved = _save(db, done, course, 5, "Great.")
    assert saved.created and saved.review.rating == 5
    assert stored_summary(db, course.id) == (1, 5)


def test_the_audit_track_needs_every_step_but_the_capstone(db, capstone_setup, make_user, enroll):
    setup = capstone_setup()
    outline = get_outline(db, setup.course)
    lessons = [step for step in outline.steps if step.kind != "capstone"]
    assert len(lessons) == 2 and outline.capstone is not None
    auditor = make_user("auditor@example.com")
    for user, track in ((setup.learner, None), (auditor, "audit")):
        enrollment = get_enrollment(db, user.id, setup.course.id) or enroll(user, setup.course, track)
        for step in lessons:
            complete_item(db, enrollment.id, step.id)
    db.commit()
    # The credential track's learner still has the capstone to pass; the audit track never grades it.
    assert services.learner_completion(db, setup.learner.id, setup.course).message == (
        "Complete the course to review it: 2 of 3 steps done.")
    assert services.learner_completion(db, auditor.id, setup.course).complete
    assert _save(db, auditor, setup.course, 4).created


def test_course_staff_cannot_review_their_own_course(db, course, learner_who):
    assistant = learner_who(course)
    grant(db, assistant, "grader", course.slug)
    db.commit()
    with pytest.raises(services.NotEligible, match="Course staff cannot review their own course"):
        services.save_review(db, assistant.id, course, 5, "", utcnow())


def test_an_existing_review_stays_editable_after_the_course_grows(db, app, course, courses_root, learner_who):
    from lms.catalog.services import sync_courses
    from lms.content import load_courses

    learner = learner_who(course)
    _save(db, learner, course, 4)
    extra = courses_root / "reviewed-course" / "02-module-2" / "04-lesson-4.md"
    extra.write_text("---\ntitle: A new lesson\n---\nNew.\n")
    sync_courses(db, load_courses(courses_root / "reviewed-course").courses, app.config["LMS_SETTINGS"].media_dir)
    db.commit()
    db.refresh(course)
    assert services.learner_completion(db, learner.id, course).message == (
        "Complete the course to review it: 6 of 7 steps done.")
    saved = _save(db, learner, course, 2, "Changed my mind.")
    assert saved.changed and not saved.created and stored_summary(db, course.id) == (1, 2)


# -- the summary follows every change --------------------------------------------------------------------

def test_the_summary_equals_the_live_aggregate_through_creates_edits_and_deletes(db, course, learner_who):
    learners = [learner_who(course, email=f"r{n}@example.com") for n in range(4)]

    def check():
        count, total = stored_summary(db, course.id)
        assert (count, total) == live_summary(db, course.id)
        avg = db.scalar(select(func.avg(CourseReview.rating)).where(CourseReview.course_id == course.id))
        assert (avg is None and count == 0) or float(avg) == pytest.approx(total / count)
        return count, total

    for learner, rating in zip(learners, (5, 4, 2, 5), strict=True):
        _save(db, learner, course, rating)
    assert check() == (4, 16)
    _save(db, learners[2], course, 4, "Second thoughts: better than I said.")  # 2 -> 4
    assert check() == (4, 18)
    _save(db, learners[0], course, 5, "Edited text, same rating.")
    assert check() == (4, 18)
    services.delete_review(db, learners[1].id, course)
    db.commit()
    assert check() == (3, 14)
    assert services.summary_of(db.get(Course, course.id)).text == "Rated 4.7 out of 5 from 3 reviews"
    for learner in (learners[0], learners[2], learners[3]):
        services.delete_review(db, learner.id, course)
    db.commit()
    assert check() == (0, 0)
    assert services.summary_of(db.get(Course, course.id)).text == "No reviews yet"


def test_saving_the_same_review_again_changes_nothing(db, course, learner_who):
    learner = learner_who(course)
    first = _save(db, learner, course, 3, "Fine.", utcnow() - timedelta(days=2))
    again = _save(db, learner, course, "3", "Fine.\r\n")
    assert not again.created and not again.changed
    assert again.review.updated_at == first.review.updated_at
    assert stored_summary(db, course.id) == (1, 3)


def test_one_review_per_learner_even_when_a_concurrent_first_save_won(db, app, course, learner_who, monkeypatch):
    """The insert that loses to the unique constraint updates the winner's review instead."""
    learner = learner_who(course)
    other = app.extensions["lms.sessionmaker"]()
    services.save_review(other, learner.id, other.get(Course, course.id), 2, "First tab.", utcnow())
    other.commit()
    other.close()
    real = services.own_review
    calls = []

    def not_yet_seen(db_, user_id, course_id):  # as if the other request committed just after our read
        calls.append(1)
        return None if len(calls) == 1 else real(db_, user_id, course_id)

    monkeypatch.setattr(services, "own_review", not_yet_seen)
    saved = services.save_review(db, learner.id, course, 5, "Second tab.", utcnow())
    db.commit()
    assert not saved.created and saved.changed and len(calls) == 2
    assert db.scalars(select(CourseReview.body)).all() == ["Second tab."]
    assert stored_summary(db, course.id) == (1, 5) == live_summary(db, course.id)


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("LMS_TEST_DATABASE_URL"),
                    reason="real concurrent writers need PostgreSQL (SQLite serializes them)")
def test_two_racing_first_saves_end_as_one_review(app, db, course, learner_who):
    learner = learner_who(course)

    def first_save(session, n):
        return services.save_review(session, learner.id, session.get(Course, course.id), 3 + n, f"Tab {n}",
                                    utcnow()).created

    results = race(app, first_save)
    assert sorted(kind for kind, _ in results) == ["ok", "ok"], results
    assert sorted(value for _, value in results) == [False, True]  # one created, the other updated it
    assert db.scalar(select(func.count(CourseReview.id))) == 1
    assert stored_summary(db, course.id) == live_summary(db, course.id)
    assert stored_summary(db, course.id)[0] == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(not os.environ.get("LMS_TEST_DATABASE_URL"),
                    reason="real concurrent writers need PostgreSQL (SQLite serializes them)")
def test_many_learners_reviewing_at_once_lose_no_count(app, db, course, learner_who):
    learners = [learner_who(course, email=f"crowd{n}@example.com") for n in range(4)]

    def review(session, n):
        saved = services.save_review(session, learners[n].id, session.get(Course, course.id), n + 1, "", utcnow())
        return saved.created

    results = race(app, review, count=4)
    assert [kind for kind, _ in results] == ["ok"] * 4, results
    assert stored_summary(db, course.id) == live_summary(db, course.id) == (4, 10)


def test_deleting_an_account_s_reviews_keeps_every_summary(db, course, make_course, learner_who, enroll):
    second = make_course("second-course")
    leaving = learner_who(course, email="leaving@example.com")
    staying = learner_who(second, email="staying@example.com")
    enrollment = enroll(leaving, second)
    for step in get_outline(db, second).steps:
        complete_item(db, enrollment.id, step.id)
    _save(db, leaving, course, 5)
    _save(db, leaving, second, 4)
    _save(db, staying, second, 2)
    assert services.delete_reviews_of_user(db, leaving.id) == 2
    db.commit()
    assert stored_summary(db, course.id) == live_summary(db, course.id) == (0, 0)
    assert stored_summary(db, second.id) == live_summary(db, second.id) == (1, 2)


def test_reconcile_repairs_a_summary_written_past_the_services(db, course, learner_who):
    _save(db, learner_who(course), course, 4)
    db.execute(text("UPDATE course_reviews SET rating = 1"))  # by hand, behind the services' back
    db.commit()
    assert services.reconcile_summaries(db) == [("reviewed-course", 1, 4, 1, 1)]
    db.commit()
    assert stored_summary(db, course.id) == (1, 1)
    assert services.reconcile_summaries(db) == []


def test_the_reconcile_command_reports_what_it_corrected(app, db, course, learner_who):
    _save(db, learner_who(course), course, 4)
    db.execute(text("UPDATE course_reviews SET rating = 2"))
    db.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["courses", "reconcile-ratings"])
    assert first.exit_code == 0 and "reviewed-course: 1 ratings totalling 4 -> 1 totalling 2" in first.output
    db.rollback()
    assert stored_summary(db, course.id) == (1, 2)
    again = runner.invoke(args=["courses", "reconcile-ratings"])
    assert again.exit_code == 0 and "Every course's rating summary is correct." in again.output


def test_the_database_refuses_a_rating_out_of_range(db, course, learner_who):
    from sqlalchemy.exc import IntegrityError

    learner = learner_who(course)
    db.add(CourseReview(course_id=course.id, user_id=learner.id, rating=6))
    with pytest.raises(IntegrityError):
        db.flush()


# -- what people type --------------------------------------------------------------------------------

@pytest.mark.parametrize(("rating", "message"), [
    (None, "Choose a rating from 1 (poor) to 5 (excellent)."),
    ("", "Choose a rating from 1 (poor) to 5 (excellent)."),
    ("0", "A rating is a whole number from 1 (poor) to 5 (excellent)"),
    ("6", "A rating is a whole number"),
    ("4.5", "A rating is a whole number"),
    ("-1", "A rating is a whole number"),
    ("five", "A rating is a whole number"),
    ("٣", "A rating is a whole number"),  # (a digit, but not one anyone's form sends)
    ("9" * 400, "A rating is a whole number"),
])
def test_a_rating_must_be_a_whole_number_from_1_to_5(db, course, learner_who, rating, message):
    learner = learner_who(course)
    with pytest.raises(services.InvalidReview) as failure:
        services.save_review(db, learner.id, course, rating, "Text", utcnow())
    assert message in failure.value.errors["rating"]
    db.rollback()
    assert db.scalar(select(func.count(CourseReview.id))) == 0


def test_a_body_too_long_is_refused_with_how_much_to_cut_and_both_errors_come_together(db, course, learner_who):
    learner = learner_who(course)
    body = "x" * (services.MAX_BODY + 25)
    with pytest.raises(services.InvalidReview) as failure:
        services.save_review(db, learner.id, course, "", body, utcnow())
    assert failure.value.errors == {
        "rating": "Choose a rating from 1 (poor) to 5 (excellent).",
        "body": "Your review is 2,025 characters long; the limit is 2,000. Shorten it by 25 characters.",
    }
    # Exactly the limit is fine, and Windows line breaks count as one character.
    assert _save(db, learner, course, 3, "y\r\n" * 1000).review.body == ("y\n" * 1000).strip()


def test_markdown_is_rendered_once_and_sanitized(db, course, learner_who):
    learner = learner_who(course)
    body = ("# Loved it\n\n**Clear** lessons.<script>alert('x')</script>\n\n"
            "<img src=x onerror=alert(1)> [site](javascript:alert(1)) <a href='https://example.com'>link</a>")
    review = _save(db, learner, course, 5, body).review
    html = review.body_html
    assert "<strong>Clear</strong>" in html
    assert "<script" not in html and "alert('x')" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert 'rel="noopener noreferrer"' in html
    assert "<h3>Loved it</h3>" in html  # below the page's own headings, and without an id
    assert review.body == body.strip()  # the Markdown as written is kept, for editing


def test_a_rating_only_review_has_no_body(db, course, learner_who):
    review = _save(db, learner_who(course), course, 4, "   ").review
    assert review.body == "" and review.body_html == ""


# -- replies -------------------------------------------------------------------------------------------

def test_only_the_course_s_instructors_and_admins_reply(db, course, make_course, make_user, learner_who, instructor):
    review = _save(db, learner_who(course), course, 3, "Too fast.").review
    grader = make_user("grader@example.com")
    grant(db, grader, "grader", course.slug)
    make_course("elsewhere")
    elsewhere = make_user("elsewhere@example.com")
    grant(db, elsewhere, "instructor", "elsewhere")
    db.commit()
    for user in (grader, elsewhere, make_user("someone@example.com")):
        with pytest.raises(services.NotCourseInstructor):
            services.reply(db, user.id, review.id, "Sorry!", utcnow())
    services.reply(db, instructor.id, review.id, "Thanks, **noted**.", utcnow(), course_id=course.id)
    db.commit()
    assert review.reply_html == "<p>Thanks, <strong>noted</strong>.</p>" and review.replied_by_id == instructor.id
    admin = make_user("admin@example.com", admin=True)
    services.reply(db, admin.id, review.id, "Edited by an admin.", utcnow())
    db.commit()
    assert review.reply == "Edited by an admin." and review.replied_by_id == admin.id


def test_a_reply_notifies_the_reviewer_once_and_is_audited(db, course, learner_who, instructor):
    learner = learner_who(course)
    review = _save(db, learner, course, 3).review
    services.reply(db, instructor.id, review.id, "We fixed the setup lesson.", utcnow())
    services.reply(db, instructor.id, review.id, "We fixed the setup lesson (and the typo).", utcnow())
    db.commit()
    [note] = db.scalars(select(Notification).where(Notification.user_id == learner.id)).all()
    assert note.kind == services.REPLY_KIND and note.link == "/courses/reviewed-course/reviews#your-review"
    assert "We fixed the setup lesson." in note.body
    services.remove_reply(db, instructor.id, review.id)
    db.commit()
    db.refresh(review)
    assert (review.reply, review.reply_html, review.replied_at, review.replied_by_id) == (None, None, None, None)
    actions = db.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "course_review")
                         .order_by(AuditEvent.id)).all()
    assert actions == ["course_review.reply", "course_review.reply_edited", "course_review.reply_removed"]
    with pytest.raises(services.ReviewNotFound, match="no reply to remove"):
        services.remove_reply(db, instructor.id, review.id)


def test_a_reply_must_have_text_within_the_limit_and_a_review_of_this_course(db, course, make_course, learner_who,
                                                                             instructor):
    review = _save(db, learner_who(course), course, 3).review
    for bad, message in (("  ", "Write a reply first"), ("z" * (services.MAX_REPLY + 1), "Shorten it by 1 character")):
        with pytest.raises(services.InvalidReview) as failure:
            services.reply(db, instructor.id, review.id, bad, utcnow())
        assert message in failure.value.errors["reply"]
    other = make_course("other-course")
    with pytest.raises(services.ReviewNotFound):
        services.reply(db, instructor.id, review.id, "Hi", utcnow(), course_id=other.id)
    with pytest.raises(services.ReviewNotFound):
        services.reply(db, instructor.id, 999_999, "Hi", utcnow())
    db.rollback()
    assert db.get(CourseReview, review.id).reply is None


# -- reading -------------------------------------------------------------------------------------------

def test_the_page_lists_newest_first_with_public_names_and_pages_back(db, course, learner_who):
    names = ["Ada Lovelace", "Grace Brewster Hopper", "Plato", "émile zola"]
    users = [learner_who(course, email=f"n{n}@example.com", name=name) for n, name in enumerate(names)]
    for user in users:
        _save(db, user, course, 4)
    users[1].deleted_at = utcnow()  # a closed account
    db.commit()
    first = services.course_reviews_page(db, course.id, limit=3)
    assert [card.reviewer for card in first.items] == ["émile Z.", "Plato", "A former learner"]
    assert first.next_before == first.items[-1].id
    second = services.course_reviews_page(db, course.id, before=first.next_before, limit=3)
    assert [card.reviewer for card in second.items] == ["Ada L."]
    assert second.next_before is None


def test_display_names_never_show_the_full_name():
    assert services.display_name("Ada Lovelace") == "Ada L."
    assert services.display_name("Jean-Luc van der Berg") == "Jean-Luc B."
    assert services.display_name("Cher") == "Cher"
    assert services.display_name("Ada Lovelace", deleted=True) == "A former learner"
    assert services.display_name("") == "A former learner"


def test_the_average_rounds_halves_up():
    assert services.RatingSummary(20, 93).average == Decimal("4.7")  # 4.65
    assert services.RatingSummary(3, 13).average == Decimal("4.3")
    assert services.RatingSummary(1, 5).text == "Rated 5.0 out of 5 from 1 review"
    assert services.RatingSummary(0, 0).average is None


def test_the_course_section_shows_the_newest_by_others_and_the_viewer_s_own(db, course, learner_who):
    users = [learner_who(course, email=f"s{n}@example.com", name=f"Person {chr(65 + n)}") for n in range(5)]
    for user in users:
        _save(db, user, course, 5)
    section = services.course_section(db, db.get(Course, course.id), users[0].id)
    assert section.own.reviewer == "Person A."
    assert [card.reviewer for card in section.recent] == ["Person E.", "Person D.", "Person C."]
    assert section.summary.count == 5 and section.completion is None
    anonymous = services.course_section(db, course, None)
    assert [card.reviewer for card in anonymous.recent] == ["Person E.", "Person D.", "Person C."]
    assert anonymous.own is None and anonymous.completion is None
