"""Routes of lms/admin: the overview, users and their roles, course folders (list, preview, sync).

Every route is for admins only. Views parse the request, call lms.admin.services / lms.admin.folders,
commit once and redirect (POST-redirect-GET); a refused change shows the page again with the reason
and a 4xx status, and nothing of it is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from lms.admin import folders, services
from lms.admin.forms import GrantRoleForm
from lms.db import get_db, utcnow
from lms.errors import DomainError
from lms.security import access

bp = Blueprint("admin", __name__, template_folder="templates")


def _courses_root():
    return current_app.config["LMS_SETTINGS"].courses_dir


@bp.route("/admin")
@access("admin")
def index():
    board = services.overview(get_db(), utcnow())
    return render_template("admin/index.html", board=board)


# -- users ------------------------------------------------------------------------------------------

def _after_arg() -> int | None:
    raw = request.args.get("after", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None  # anything else: the first page


@bp.route("/admin/users")
@access("admin")
def users():
    page = services.find_users(get_db(), request.args.get("q", ""), after=_after_arg())
    return render_template("admin/users.html", page=page, first_page=_after_arg() is None)


def _user_page(user_id: int, *, form: GrantRoleForm | None = None, error: str | None = None, status: int = 200):
    db = get_db()
    detail = services.user_detail(db, user_id)
    form = form or GrantRoleForm(services.course_choices(db), formdata=None)
    return render_template("admin/user.html", user=detail, form=form, error=error,
                           is_me=detail.id == current_user.id), status


@bp.route("/admin/users/<int:user_id>")
@access("admin")
def user(user_id: int):
    return _user_page(user_id)


def _change(user_id: int, action: Callable[[Session], str], form: GrantRoleForm | None = None):
    """Run a change of a user's roles (``action`` returns what to tell the admin); commit and
    redirect, or show the user's page again with the reason (nothing of the change is kept)."""
    db = get_db()
    try:
        message = action(db)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return _user_page(user_id, form=form, error=exc.message, status=exc.status_code)
    flash(message, "success")
    return redirect(url_for("admin.user", user_id=user_id))


def _role_input() -> tuple[str, str]:
    return request.form.get("course", "").strip(), request.form.get("role", "").strip()


@bp.route("/admin/users/<int:user_id>/roles", methods=["POST"])
@access("admin")
def grant_role(user_id: int):
    form = GrantRoleForm(services.course_choices(get_db()))
    course_slug, role = _role_input()

    def act(db: Session) -> str:
        course = services.grant_course_role(db, current_user.id, user_id, course_slug, role)
        return f"Granted: now {services.ROLE_LABELS[role]} of “{course.title}”."

    return _change(user_id, act, form)


@bp.route("/admin/users/<int:user_id>/roles/remove", methods=["POST"])
@access("admin")
def remove_role(user_id: int):
    course_slug, role = _role_input()

    def act(db: Session) -> str:
        course = services.remove_course_role(db, current_user.id, user_id, course_slug, role)
        return f"Removed: no longer {services.ROLE_LABELS[role]} of “{course.title}”."

    return _change(user_id, act)


@bp.route("/admin/users/<int:user_id>/admin", methods=["POST"])
@access("admin")
def admin_flag(user_id: int):
    action = request.form.get("action", "")
    making = action == "grant"

    def act(db: Session) -> str:
        if action not in ("grant", "remove"):
            raise services.AdminInputError("Choose whether to make this person an admin or to remove their admin "
                                           "rights.")
        changed = services.set_admin(db, current_user.id, user_id, making)
        return f"{changed.name} is now an admin." if making else f"{changed.name} is no longer an admin."

    return _change(user_id, act)


# -- course folders ----------------------------------------------------------------------------------

@bp.route("/admin/courses")
@access("admin")
def courses():
    listing = folders.folder_statuses(get_db(), _courses_root(), utcnow().date())
    return render_template("admin/courses.html", listing=listing, root=_courses_root())


@bp.route("/admin/courses/<folder>/preview")
@access("admin")
def preview(folder: str):
    db = get_db()
    result = folders.preview_sync(db, _courses_root(), folder)
    db.rollback()  # (the preview's savepoint is rolled back already; this ends the read transaction early)
    return render_template("admin/preview.html", preview=result, folder=folder, error=None)


@bp.route("/admin/courses/<folder>/sync", methods=["POST"])
@access("admin")
def sync(folder: str):
    db = get_db()
    try:
        _summary, event_id = folders.apply_sync(db, _courses_root(), folder, request.form.get("content_hash", ""),
                                                current_app.config["LMS_SETTINGS"].media_dir, current_user.id)
        db.commit()
    except DomainError as exc:
        db.rollback()
        return render_template("admin/preview.html", preview=None, folder=folder, error=exc.message), exc.status_code
    flash("Synced. Learners see the new version from their next page.", "success")
    return redirect(url_for("admin.synced", folder=folder, event_id=event_id))


@bp.route("/admin/courses/<folder>/syncs/<int:event_id>")
@access("admin")
def synced(folder: str, event_id: int):
    record = folders.sync_record(get_db(), event_id, folder)
    return render_template("admin/synced.html", record=record, folder=folder)
