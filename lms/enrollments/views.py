"""Enrolling in a course."""

from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user

from lms.catalog import services as catalog
from lms.db import get_db
from lms.enrollments import services
from lms.enrollments.forms import EnrollForm
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
    services.enroll(db, current_user.id, course, form.track.data)
    db.commit()
    if existing is None:
        flash(f"You are enrolled in {course.title}. Here is your first lesson.", "success")
    return redirect(url_for("lessons.resume", course_slug=course_slug))
