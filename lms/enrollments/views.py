"""Enrolling in a course."""

from flask import Blueprint, flash, g, redirect, url_for
from flask_login import current_user

from lms.catalog import services as catalog
from lms.db import get_db
from lms.enrollments import services
from lms.enrollments.forms import EnrollForm
from lms.forms import ActionForm
from lms.security import access

bp = Blueprint("enrollments", __name__, template_folder="templates")


@bp.route("/courses/<course_slug>/enroll", methods=["POST"])
@access("login")
def enroll(course_slug: str):
    db = get_db()
    course = catalog.get_course(db, course_slug)
    form = EnrollForm()
    if not form.validate_on_submit():
        flash("Choose a track, then press Enroll again.", "error")
        return redirect(url_for("catalog.course", course_slug=course_slug))
    existing = services.get_enrollment(db, current_user.id, course.id)
    try:
        services.enroll(db, current_user.id, course, form.track.data)
    except services.PrerequisitesNotMet as exc:
        db.rollback()
        flash(exc.message, "error")
        return redirect(url_for("catalog.course", course_slug=course_slug))
    db.commit()
    if existing is None:
        flash(f"You are enrolled in {course.title}. Here is your first lesson.", "success")
    return redirect(url_for("lessons.resume", course_slug=course_slug))


@bp.route("/courses/<course_slug>/track", methods=["POST"])
@access("enrolled")
def switch_track(course_slug: str):
    """Audit -> credential, keeping everything done so far (the other way is not offered: see decision 0019)."""
    db = get_db()
    course = catalog.get_course(db, course_slug)
    if not ActionForm().validate_on_submit():
        flash("The form expired; press the button again.", "error")
        return redirect(url_for("catalog.course", course_slug=course_slug, _anchor="track"))
    if g.course_access.enrollment_id is None:
        flash("Only enrolled learners have a track.", "error")
        return redirect(url_for("catalog.course", course_slug=course_slug))
    changed = services.switch_to_credential_track(db, current_user.id, course.id)
    db.commit()
    if changed:
        flash(f"You are on the credential track of {course.title}. Your progress is kept; your capstone can now "
              "be graded and the credential awarded.", "success")
    return redirect(url_for("catalog.course", course_slug=course_slug, _anchor="track"))
