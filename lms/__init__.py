"""Skillmark: micro-courses from Markdown, practical assessments, verifiable credentials."""

from __future__ import annotations

import logging

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from lms.auth.services import SESSION_LIFETIME
from lms.config import ConfigError, Settings, load_settings, resolve_secret_key
from lms.sessions import VerifiedCookieSessionInterface

csrf = CSRFProtect()


def create_app(settings: Settings | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints. No migrations and no course I/O here."""
    settings = settings or load_settings()
    app = Flask(__name__)
    register_config(app, settings)
    register_logging(app, settings)
    register_extensions(app, settings)
    register_blueprints(app)
    register_signal_handlers()
    register_errors(app)
    register_template_helpers(app)
    register_commands(app)

    from lms.security import verify_routes_declare_access  # noqa: PLC0415

    verify_routes_declare_access(app)
    return app


def register_config(app: Flask, settings: Settings) -> None:
    production = settings.is_production
    try:
        secret_key = resolve_secret_key(settings)
    except ConfigError as exc:
        # Commands (migrations, course sync) work without the key; serving pages does not.
        secret_key = None
        app.before_request(_refuse_to_serve(str(exc)))
    app.config.update(
        LMS_SETTINGS=settings,
        SECRET_KEY=secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_NAME="skillmark_session",
        # How long a signed session cookie is accepted; its login_sessions row lives as long.
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead: a form left open for hours still works
        MAX_CONTENT_LENGTH=1024 * 1024,
        TEMPLATES_AUTO_RELOAD=not production,
    )
    if settings.env == "testing":
        app.config["TESTING"] = True
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix  # noqa: PLC0415

        # The client's address (throttles count per address) and https come from the proxy's
        # X-Forwarded-For/-Proto, trusted only as many hops deep as there are proxies of ours.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _refuse_to_serve(reason: str):
    def refuse():
        logging.getLogger("lms").error("refusing to serve: %s", reason)
        return f"Skillmark is not configured: {reason}\n", 503, {"Content-Type": "text/plain; charset=utf-8"}

    return refuse


def register_logging(app: Flask, settings: Settings) -> None:
    from lms.observability import logs  # noqa: PLC0415

    logs.configure_logging(settings.log_level, settings.log_format)
    logs.init_app(app, settings.access_log)


def register_extensions(app: Flask, settings: Settings) -> None:
    from lms import db, jobs, mail, security, uploads  # noqa: PLC0415
    from lms.auth.passwords import make_hasher  # noqa: PLC0415
    from lms.progress.dashboard_cache import DashboardCache  # noqa: PLC0415

    db.init_app(app, settings)
    if settings.redis_url:
        import redis  # noqa: PLC0415

        # One client (a connection pool) per process; short timeouts so an unreachable Redis costs
        # a request a second, not a hang.
        app.extensions["lms.redis"] = redis.Redis.from_url(settings.redis_url, socket_timeout=2,
                                                           socket_connect_timeout=2, health_check_interval=30)
    app.session_interface = VerifiedCookieSessionInterface()
    csrf.init_app(app)
    security.init_app(app, settings.ratelimit_storage_url)
    mail.init_app(app, settings)
    jobs.init_app(app, settings)
    uploads.init_app(app, settings)
    app.extensions["lms.password_hasher"] = make_hasher(settings.password_hash)
    app.extensions["lms.dashboard_cache"] = DashboardCache(settings.dashboard_cache_size)


def register_blueprints(app: Flask) -> None:
    from lms.account_data.views import bp as account_data_bp  # noqa: PLC0415
    from lms.admin.views import bp as admin_bp  # noqa: PLC0415
    from lms.auth.views import bp as auth_bp  # noqa: PLC0415
    from lms.capstones.views import bp as capstones_bp  # noqa: PLC0415
    from lms.catalog.views import bp as catalog_bp  # noqa: PLC0415
    from lms.course_reviews.views import bp as course_reviews_bp  # noqa: PLC0415
    from lms.credentials.views import bp as credentials_bp  # noqa: PLC0415
    from lms.enrollments.views import bp as enrollments_bp  # noqa: PLC0415
    from lms.instructor.views import bp as instructor_bp  # noqa: PLC0415
    from lms.lessons.views import bp as lessons_bp  # noqa: PLC0415
    from lms.notifications.views import bp as notifications_bp  # noqa: PLC0415
    from lms.observability.health import bp as health_bp  # noqa: PLC0415
    from lms.pathways.views import bp as pathways_bp  # noqa: PLC0415
    from lms.progress.views import bp as progress_bp  # noqa: PLC0415
    from lms.quizzes.views import bp as quizzes_bp  # noqa: PLC0415
    from lms.spaced_review.views import bp as spaced_review_bp  # noqa: PLC0415

    for blueprint in (catalog_bp, auth_bp, enrollments_bp, progress_bp, lessons_bp, quizzes_bp, capstones_bp,
                      notifications_bp, credentials_bp, pathways_bp, spaced_review_bp, course_reviews_bp,
                      instructor_bp, admin_bp, health_bp, account_data_bp):
        app.register_blueprint(blueprint)


def register_signal_handlers() -> None:
    """Features that react to other features' events connect their handlers on import."""
    import lms.auth.jobs  # noqa: F401, PLC0415  (accounts: delete login sessions that ended)
    import lms.capstones.notify  # noqa: F401, PLC0415  (capstones: tell learners and graders; daily digest)
    import lms.capstones.sync  # noqa: F401, PLC0415  (capstones: store each definition version at sync)
    import lms.credentials.events  # noqa: F401, PLC0415  (credentials: issue when the last blocker goes)
    import lms.credentials.expiry  # noqa: F401, PLC0415  (credentials: the daily expiry reminders)
    import lms.credentials.sync  # noqa: F401, PLC0415  (credentials: each course's and pathway's achievement at sync)
    import lms.instructor.jobs  # noqa: F401, PLC0415  (instructor: refresh a course's dashboard summary)
    import lms.quizzes.sync  # noqa: F401, PLC0415  (quizzes: store settings and questions at sync)
    import lms.spaced_review.events  # noqa: F401, PLC0415  (spaced review: missed questions become cards)


def register_errors(app: Flask) -> None:
    from lms.errors import register_error_handlers  # noqa: PLC0415

    register_error_handlers(app)


def register_template_helpers(app: Flask) -> None:
    from lms.templating import init_app  # noqa: PLC0415

    init_app(app)


def register_commands(app: Flask) -> None:
    from lms.cli import register  # noqa: PLC0415

    register(app)
