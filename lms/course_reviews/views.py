"""Routes of lms/course_reviews: the public reviews page of a course, a learner's own review (write,
edit, delete), instructors' replies, and the template helpers the catalog's pages include.

Views parse the form, call lms.course_reviews.services, commit once and redirect. A form with a
mistake is shown again with what was typed and the message next to the input (status 400); other
failures (not completed, not an instructor, unknown review) are DomainErrors with their own status.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from lms.catalog import services as catalog
from lms.catalog.models import Course
from lms.course_reviews import services
from lms.db import get_db, utcnow
from lms.security import access, staff_roles

bp = Blueprint("course_reviews", __name__, template_folder="templates")

REVIEWS_PATH = "/courses/<course_slug>/reviews"


# -- helpers for the catalog's templates (registered on the app with this blueprint) ---------------------

@bp.app_template_global("course_reviews_section")
def course_reviews_section(course: Course) -> services.CourseSection:
    """The course page's reviews section: the newest reviews and the visitor's own (one or two statements)."""
    viewer_id = current_user.id if current_user.is_authenticated else None
    return services.course_section(get_db(), course, viewer_id)


@bp.app_template_global("course_rating_summary")
def course_rating_summary(course: Course) -> services.RatingSummary:
    """A course's average and count, from its own columns (no statement): for catalog cards."""
    return services.summary_of(course)


# -- the reviews page ---------------------------------------------------------------------------------

def _before_arg() -> int | None:
    # A cursor that is not a positive whole number (typed or tampered) just means "the first page".
    raw = request.values.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def _reviews_url(course_slug: str, anchor: str | None = None, before: int | None = None) -> str:
    return url_for("course_reviews.index", course_slug=course_slug, before=before, _anchor=anchor)


def _page(course: Course, status: int = 200, *, form: dict | None = None, reply_form: dict | None = None,
          before: int | None = None):
    """Render the reviews page; ``form``/``reply_form`` carry unsaved input and its errors back to the page."""
    db = get_db()
    user = current_user
    own = completion = None
    can_reply = is_staff = False
    if user.is_authenticated:
        roles = staff_roles(user.id, course.id)
        can_reply, is_staff = user.is_admin or "instructor" in roles, bool(roles)
        own = services.own_review_card(db, user.id, course.id)
        if own is None and not is_staff:
            completion = services.learner_completion(db, user.id, course)
    summary = services.summary_of(course)
    page = services.course_reviews_page(db, course.id, before)
    html = render_template(
        "course_reviews/reviews.html", course=course, summary=summary, page=page, first_page=before is None,
        before=before, distribution=services.rating_distribution(db, course.id) if summary.count else None,
        own=own, completion=completion, can_reply=can_reply, is_staff=is_staff,
        viewer_name=services.display_name(user.name) if user.is_authenticated else None,
        form=form or {}, reply_form=reply_form or {}, max_body=services.MAX_BODY, max_reply=services.MAX_REPLY,
        ratings=services.RATINGS, rating_words=services.RATING_WORDS)
    return html, status


@bp.route(REVIEWS_PATH)
@access("public")
def index(course_slug: str):
    course = catalog.get_course(get_db(), course_slug)
    return _page(course, before=_before_arg())


# -- the learner's own review -------------------------------------------------------------------------

@bp.route("/courses/<course_slug>/review", methods=["POST"])
@access("login")
def save(course_slug: str):
    db = get_db()
    course = catalog.get_course(db, course_slug)
    rating, body = request.form.get("rating"), request.form.get("body", "")
    try:
        saved = services.save_review(db, current_user.id, course, rating, body, utcnow())
    except services.InvalidReview as exc:
        db.rollback()
        return _page(course, 400, form={"rating": rating, "body": body, "errors": exc.errors})
    db.commit()
    if saved.created:
        flash("Thank you: your review is published.", "success")
    elif saved.changed:
        flash("Your review is updated.", "success")
    else:
        flash("Nothing changed: that is already your review.", "info")
    return redirect(_reviews_url(course_slug, "your-review"))


@bp.route("/courses/<course_slug>/review/delete", methods=["POST"])
@access("login")
def delete(course_slug: str):
    db = get_db()
    course = catalog.get_course(db, course_slug)
    services.delete_review(db, current_user.id, course)  # ReviewNotFound -> the 404 page with its message
    db.commit()
    flash("Your review is deleted. You can write a new one at any time.", "success")
    return redirect(_reviews_url(course_slug, "your-review"))


# -- instructors' replies -------------------------------------------------------------------------------

@bp.route(REVIEWS_PATH + "/<int:review_id>/reply", methods=["POST"])
@access("course_instructor")
def reply(course_slug: str, review_id: int):
    db = get_db()
    course = catalog.get_course(db, course_slug)
    text, before = request.form.get("reply", ""), _before_arg()
    try:
        services.reply(db, current_user.id, review_id, text, utcnow(), course_id=course.id)
    except services.InvalidReview as exc:
        db.rollback()
        return _page(course, 400, before=before,
                     reply_form={"review_id": review_id, "text": text, "error": exc.errors.get("reply", exc.message)})
    db.commit()
    flash("Your reply is published under the review.", "success")
    return redirect(_reviews_url(course_slug, f"review-{review_id}", before))


@bp.route(REVIEWS_PATH + "/<int:review_id>/reply/delete", methods=["POST"])
@access("course_instructor")
def remove_reply(course_slug: str, review_id: int):
    db = get_db()
    course = catalog.get_course(db, course_slug)
    services.remove_reply(db, current_user.id, review_id, course_id=course.id)
    db.commit()
    flash("The reply is removed.", "success")
    return redirect(_reviews_url(course_slug, f"review-{review_id}", _before_arg()))
