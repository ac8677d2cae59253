"""Account pages: the overview (with signing out everywhere else), downloading one's data, deleting
one's account.

Both actions ask for the password again. Exports are rate limited (each builds a zip of everything);
so are wrong passwords, per account, as the login form limits them.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for
from flask_login import current_user, logout_user

from lms.account_data import export, files, services
from lms.account_data.forms import DeleteForm, ExportForm
from lms.auth import services as auth_services
from lms.credentials.services import CredentialError
from lms.db import get_db, utcnow
from lms.forms import ActionForm
from lms.security import TooManyAttempts, access, get_throttle, limit
from lms.uploads import get_upload_store

bp = Blueprint("account_data", __name__, template_folder="templates")
log = logging.getLogger(__name__)

EXPORTS_PER_ACCOUNT = limit("3 per hour")
PASSWORD_FAILURES_PER_ACCOUNT = limit("5 per 5 minutes")


def _hasher():
    return current_app.extensions["lms.password_hasher"]


def _page(template: str, form, status: int | None = None, headers: dict | None = None):
    if status is None:
        status = 422 if form.errors or form.form_errors else 200
    return render_template(template, form=form), status, headers or {}


def _checked_password(form, template: str):
    """The account when the form's password is right; otherwise the page to answer with."""
    throttle = get_throttle()
    key = ("reauth-account", str(current_user.id))
    try:
        throttle.check([(PASSWORD_FAILURES_PER_ACCOUNT, key)], "wrong passwords")
    except TooManyAttempts as exc:
        form.form_errors.append(exc.message)
        return None, _page(template, form, 429, {"Retry-After": str(exc.retry_after)})
    try:
        return services.check_password(get_db(), _hasher(), current_user.id, form.password.data), None
    except services.WrongPassword as exc:
        throttle.hit(PASSWORD_FAILURES_PER_ACCOUNT, *key)
        form.password.errors.append(exc.message)
        return None, _page(template, form, 403)


@bp.route("/account")
@access("login")
def account():
    sessions = auth_services.live_sessions(get_db(), current_user.id)
    return render_template("account_data/account.html", sessions=sessions, form=ActionForm())


@bp.route("/account/sessions/end-others", methods=["POST"])
@access("login")
def end_other_sessions():
    """Sign out everywhere else: every other browser's session ends, this one stays."""
    form = ActionForm()
    if form.validate_on_submit():
        db = get_db()
        ended = auth_services.end_other_sessions(db, current_user.id, keep_token=current_user.session_token)
        db.commit()
        flash(f"Signed out of {ended} other browser{'' if ended == 1 else 's'}." if ended else
              "You were not signed in anywhere else.", "success")
    return redirect(url_for("account_data.account"))


@bp.route("/account/export", methods=["GET", "POST"])
@access("login")
def export_data():
    form = ExportForm()
    template = "account_data/export.html"
    if not form.validate_on_submit():
        return _page(template, form)
    throttle = get_throttle()
    key = ("export-account", str(current_user.id))
    try:
        throttle.check([(EXPORTS_PER_ACCOUNT, key)], "downloads of your data")
    except TooManyAttempts as exc:
        form.form_errors.append(exc.message)
        return _page(template, form, 429, {"Retry-After": str(exc.retry_after)})
    user, refusal = _checked_password(form, template)
    if refusal:
        return refusal
    throttle.hit(EXPORTS_PER_ACCOUNT, *key)
    db = get_db()
    now = utcnow()
    archive = export.build_export(db, get_upload_store(), user.id, now)
    db.rollback()  # (read only; ends the transaction before the file is streamed)
    # The temporary file is closed (and so gone) when the response is.
    return send_file(archive, mimetype="application/zip", as_attachment=True,
                     download_name=f"skillmark-data-{now:%Y-%m-%d}.zip", max_age=0)


@bp.route("/account/delete", methods=["GET", "POST"])
@access("login")
def delete_account():
    form = DeleteForm()
    template = "account_data/delete.html"
    if not form.validate_on_submit():
        return _page(template, form)
    user, refusal = _checked_password(form, template)
    if refusal:
        return refusal
    db = get_db()
    try:
        erasure = services.erase_account(db, user.id, utcnow())
        db.commit()
    except (services.LastAdmin, CredentialError) as exc:
        db.rollback()
        form.form_errors.append(exc.message)
        return _page(template, form, exc.status_code)
    except BaseException:
        db.rollback()
        raise
    # Only now, after the commit, may files go: a rollback above leaves every file in place.
    try:
        files.remove_unreferenced(db, get_upload_store(), erasure.files)
        db.rollback()
    except Exception:  # an orphan file is harmless; `flask uploads sweep` removes it later
        log.exception("files of deleted account %s not removed; `flask uploads sweep` will", erasure.user_id)
    logout_user()
    flash("Your account is deleted: your personal data is erased and your credentials are revoked. "
          "You can sign up again with the same address at any time.", "success")
    return redirect(url_for("catalog.index"))
