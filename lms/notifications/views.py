"""Notification pages: the list, email choices, and the one-click unsubscribe link from emails."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from lms import csrf
from lms.db import get_db
from lms.forms import ActionForm
from lms.notifications import services
from lms.notifications.forms import preferences_form
from lms.security import access, safe_next

bp = Blueprint("notifications", __name__, template_folder="templates")


def _before_arg() -> int | None:
    # A cursor that is not a positive whole number (typed or tampered) just means "the first page".
    raw = request.args.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@bp.route("/notifications")
@access("login")
def index():
    page = services.list_notifications(get_db(), current_user.id, before=_before_arg())
    return render_template("notifications/index.html", page=page, form=ActionForm(),
                           first_page=_before_arg() is None)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@access("login")
def mark_read(notification_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("notifications.index"))
    db = get_db()
    notification = services.mark_read(db, current_user.id, notification_id)  # NotFound -> 404 page
    db.commit()
    if request.form.get("open") and notification.link:
        return redirect(safe_next(notification.link, "notifications.index"))
    return redirect(safe_next(request.form.get("next"), "notifications.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@access("login")
def mark_all_read():
    form = ActionForm()
    if form.validate_on_submit():
        db = get_db()
        marked = services.mark_all_read(db, current_user.id)
        db.commit()
        flash(f"Marked {marked} notification{'s' if marked != 1 else ''} as read." if marked
              else "There was nothing unread.", "success" if marked else "info")
    return redirect(safe_next(request.form.get("next"), "notifications.index"))


@bp.route("/account/notifications", methods=["GET", "POST"])
@access("login")
def preferences():
    db = get_db()
    kinds = services.kinds_for(db, current_user.id, current_user.is_admin)
    form = preferences_form(kinds, services.email_choices(db, current_user.id))
    if form.validate_on_submit():
        changed = services.set_email_choices(db, current_user.id, form.choices())
        db.commit()
        flash("Your email choices are saved." if changed else "Nothing changed: these were already your choices.",
              "success" if changed else "info")
        return redirect(url_for("notifications.preferences"))
    return render_template("notifications/preferences.html", form=form), 422 if form.errors else 200


def _secret() -> str:
    return current_app.secret_key


# RFC 8058 one-click: the mail client POSTs "List-Unsubscribe=One-Click" with no cookie and no CSRF
# token. The signed token in the URL is the authority (it can only turn mail off), so CSRF is off here.
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@access("public")
@csrf.exempt
def unsubscribe(token: str):
    db = get_db()
    try:
        if request.method == "GET":
            # Mail scanners follow links: a GET only asks, the button (a POST) does it.
            target = services.describe_unsubscribe(db, _secret(), token)
            return render_template("notifications/unsubscribe.html", target=target, token=token)
        target = services.unsubscribe(db, _secret(), token)
    except services.InvalidUnsubscribeLink as exc:
        db.rollback()
        return render_template("notifications/unsubscribe_failed.html", message=exc.message), 400
    db.commit()
    return render_template("notifications/unsubscribed.html", target=target)
