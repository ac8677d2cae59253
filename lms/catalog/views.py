"""Catalog pages: the course list with search and level filter, course pages, course media."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from lms.catalog import services
from lms.catalog.models import LEVELS
from lms.db import get_db
from lms.enrollments import services as enrollments
from lms.enrollments.forms import EnrollForm
from lms.errors import NotFound
from lms.security import access, staff_roles

bp = Blueprint("catalog", __name__, template_folder="templates")

MEDIA_NAME = re.compile(r"^([0-9a-f]{64})(\.[a-z0-9]{1,8})$")
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})


@bp.route("/")
@access("public")
def index():
    return redirect(url_for("progress.dashboard") if current_user.is_authenticated else url_for("catalog.courses"))


@bp.route("/courses")
@access("public")
def courses():
    query = request.args.get("q", "", type=str)[:100]
    level = request.args.get("level", "", type=str)
    if level not in LEVELS:
        level = ""
    db = get_db()
    found = services.search_courses(db, query, level or None)
    pathways = [] if query or level else services.list_pathways(db)  # (a search narrows to courses)
    return render_template("catalog/courses.html", courses=found, query=query, level=level, levels=LEVELS,
                           pathways=pathways)


@bp.route("/courses/<course_slug>")
@access("public")
def course(course_slug: str):
    db = get_db()
    course_ = services.get_course(db, course_slug)
    outline = services.get_outline(db, course_)
    enrollment = progress = None
    done: set[int] = set()
    updated: set[int] = set()
    unmet: list = []
    roles: frozenset[str] = frozenset()
    if current_user.is_authenticated:
        roles = frozenset({"instructor", "grader"}) if current_user.is_admin else staff_roles(current_user.id,
                                                                                               course_.id)
        enrollment = enrollments.get_enrollment(db, current_user.id, course_.id)
        if enrollment is not None:
            done = enrollments.completed_item_ids(db, [enrollment.id])[enrollment.id]
            updated = enrollments.updated_since_read(db, enrollment.id)
            progress = enrollments.summarize(outline, done, enrollment.last_item_id)
        else:
            unmet = enrollments.unmet_prerequisites(db, current_user.id, course_)
    return render_template("catalog/course.html", course=course_, outline=outline, enrollment=enrollment,
                           progress=progress, form=EnrollForm(), roles=roles, done=done, updated=updated,
                           unmet=unmet)


@bp.route("/media/<name>")
@access("public")
def media(name: str):
    """Course assets, by content hash: safe to cache forever, never run as a page."""
    match = MEDIA_NAME.match(name)
    if not match:
        raise NotFound("No such file.")
    file = services.get_media(get_db(), match.group(1), match.group(2))
    path = current_app.config["LMS_SETTINGS"].media_dir / name
    if not path.is_file():
        raise NotFound("This file is missing from the server; run `flask courses sync` again.")
    is_image = file.media_type in IMAGE_TYPES
    response = send_file(path, mimetype=file.media_type, as_attachment=not is_image,
                         download_name=name, max_age=365 * 24 * 3600)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    # An SVG opened directly must not run scripts or load anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response
