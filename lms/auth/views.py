"""Account pages. Each view parses the form, calls a service, commits once, and redirects."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from lms.auth import services
from lms.auth.forms import ForgotPasswordForm, LoginForm, RegisterForm, ResetPasswordForm
from lms.db import get_db
from lms.errors import Conflict
from lms.forms import ActionForm
from lms.security import TooManyAttempts, access, get_throttle, limit, redirect_next, safe_next

bp = Blueprint("auth", __name__, template_folder="templates")

# Failed logins per client address and per account; registrations and reset mails likewise.
LOGIN_FAILURES_PER_IP = limit("20 per 5 minutes")
LOGIN_FAILURES_PER_ACCOUNT = limit("5 per 5 minutes")
REGISTRATIONS_PER_IP = limit("10 per hour")
REGISTRATIONS_PER_ACCOUNT = limit("5 per hour")
RESET_MAILS_PER_IP = limit("10 per hour")
RESET_MAILS_PER_ACCOUNT = limit("3 per hour")


def _hasher():
    return current_app.extensions["lms.password_hasher"]


def _tokens() -> services.Tokens:
    return services.Tokens(current_app.secret_key)


def _base_url() -> str:
    return current_app.config["LMS_SETTINGS"].public_url


def _client() -> str:
    return request.remote_addr or "unknown"


def _form_page(template: str, form, status: int | None = None, **context):
    """Render a form page; a submitted form with errors answers 422 so clients can tell."""
    if status is None:
        status = 422 if form.errors else 200
    return render_template(template, form=form, **context), status


def _throttled_page(template: str, form, exc: TooManyAttempts, **context):
    form.form_errors.append(exc.message)
    body, _ = _form_page(template, form, **context)
    return body, 429, {"Retry-After": str(exc.retry_after)}


@bp.route("/register", methods=["GET", "POST"])
@access("public")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("progress.dashboard"))
    form = RegisterForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        throttle = get_throttle()
        try:
            throttle.check([(REGISTRATIONS_PER_IP, ("register-ip", _client())),
                            (REGISTRATIONS_PER_ACCOUNT, ("register-account", email))], "registrations")
        except TooManyAttempts as exc:
            return _throttled_page("auth/register.html", form, exc)
        throttle.hit(REGISTRATIONS_PER_IP, "register-ip", _client())
        throttle.hit(REGISTRATIONS_PER_ACCOUNT, "register-account", email)
        db = get_db()
        try:
            user = services.register(db, _hasher(), _tokens(), _base_url(), form.email.data, form.name.data,
                                     form.password.data)
            db.commit()
        except services.InvalidInput as exc:
            db.rollback()
            getattr(form, exc.field or "email").errors.append(exc.message)
        except Conflict as exc:
            db.rollback()
            form.email.errors.append(exc.message)
        else:
            _log_in(db, user)
            flash(f"Welcome, {user.name}! We sent a link to {user.email}: open it to confirm your address. "
                  "You can start learning right away.", "success")
            return redirect(safe_next(form.next.data))
    return _form_page("auth/register.html", form)


@bp.route("/login", methods=["GET", "POST"])
@access("public")
def login():
    if current_user.is_authenticated:
        return redirect_next()
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        throttle = get_throttle()
        keys = [(LOGIN_FAILURES_PER_IP, ("login-ip", _client())),
                (LOGIN_FAILURES_PER_ACCOUNT, ("login-account", email))]
        try:
            throttle.check(keys, "failed login attempts")
        except TooManyAttempts as exc:
            return _throttled_page("auth/login.html", form, exc)
        db = get_db()
        user = services.authenticate(db, _hasher(), email, form.password.data)
        if user is None:
            for item, key in keys:
                throttle.hit(item, *key)
            form.form_errors.append("That email and password do not match an account. "
                                    "Check them, or reset your password.")
            return _form_page("auth/login.html", form, status=401)
        _log_in(db, user)  # (and commits a rehashed password, if the hash settings changed)
        return redirect(safe_next(form.next.data))
    return _form_page("auth/login.html", form)


def _log_in(db, user) -> None:
    """Start a login session for ``user`` in this browser, committed with the request's work before the
    cookie names it."""
    session_user = services.start_session(db, user)
    db.commit()
    login_user(session_user)


@bp.route("/logout", methods=["POST"])
@access("public")
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            db = get_db()
            services.end_session(db, current_user.id, current_user.session_token)
            db.commit()
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("catalog.index"))


@bp.route("/verify-email/<token>")
@access("public")
def verify_email(token: str):
    db = get_db()
    try:
        user = services.verify_email(db, _tokens(), token)
    except services.InvalidToken as exc:
        return render_template("auth/verify_failed.html", message=exc.message, form=ActionForm()), 400
    db.commit()
    flash(f"Thank you: {user.email} is confirmed.", "success")
    return redirect(url_for("progress.dashboard") if current_user.is_authenticated else url_for("auth.login"))


@bp.route("/verify-email/resend", methods=["POST"])
@access("login")
def resend_verification():
    form = ActionForm()
    if form.validate_on_submit() and not current_user.email_verified:
        throttle = get_throttle()
        try:
            throttle.check([(RESET_MAILS_PER_ACCOUNT, ("verify-account", current_user.email))], "emails")
        except TooManyAttempts as exc:
            flash(exc.message, "error")
            return redirect(url_for("progress.dashboard"))
        throttle.hit(RESET_MAILS_PER_ACCOUNT, "verify-account", current_user.email)
        db = get_db()
        services.send_verification(db, _tokens(), _base_url(), current_user)
        db.commit()
        flash(f"We sent a new confirmation link to {current_user.email}.", "success")
    return redirect(url_for("progress.dashboard"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@access("public")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        throttle = get_throttle()
        try:
            throttle.check([(RESET_MAILS_PER_IP, ("reset-ip", _client())),
                            (RESET_MAILS_PER_ACCOUNT, ("reset-account", email))], "reset requests")
        except TooManyAttempts as exc:
            return _throttled_page("auth/forgot_password.html", form, exc)
        throttle.hit(RESET_MAILS_PER_IP, "reset-ip", _client())
        throttle.hit(RESET_MAILS_PER_ACCOUNT, "reset-account", email)
        db = get_db()
        services.request_password_reset(db, _tokens(), _base_url(), email)
        db.commit()
        # The same answer whether or not the account exists: this page must not reveal who has one.
        return render_template("auth/forgot_password_sent.html", email=email)
    return _form_page("auth/forgot_password.html", form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@access("public")
def reset_password(token: str):
    db = get_db()
    try:
        services.user_for_reset_token(db, _tokens(), token)
    except services.InvalidToken as exc:
        return render_template("auth/reset_failed.html", message=exc.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(db, _hasher(), _tokens(), token, form.password.data)
        except services.InvalidInput as exc:
            db.rollback()
            form.password.errors.append(exc.message)
        else:
            _log_in(db, user)
            flash("Your password is changed and you are logged in. Other sessions were logged out.", "success")
            return redirect(url_for("progress.dashboard"))
    return _form_page("auth/reset_password.html", form)
