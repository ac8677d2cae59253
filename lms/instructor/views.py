"""Routes of lms/instructor (see the package docstring).

/teach lists the courses the user teaches (every course for an admin; an empty state for everyone else:
a grader who follows a link gets an explanation, not an error). The course pages are for the course's
instructors and admins (access rule "course_instructor"; graders get 403).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from lms.audit import services as audit
from lms.catalog import services as catalog
from lms.db import get_db, utcnow
from lms.errors import NotFound
from lms.instructor import exports, services
from lms.reports import svg as charts
from lms.security import access

bp = Blueprint("instructor", __name__, template_folder="templates")

COURSE_PATH = "/teach/<course_slug>"


def _outline() -> catalog.Outline:
    """The course of the URL (the access check read it), from the per-process outline cache."""
    course = g.course_access
    return catalog.get_outlines(get_db(), [(course.course_id, course.content_hash)])[course.course_id]


@bp.route("/teach")
@access("login")
def courses():
    courses_ = services.taught_courses(get_db(), current_user.id, current_user.is_admin)
    return render_template("instructor/courses.html", courses=courses_, is_admin=current_user.is_admin)


# -- the dashboard ----------------------------------------------------------------------------------------

# The charts of a snapshot, per process: the same snapshot is shown to every instructor of the course
# for up to FRESH_FOR, and drawing its SVG is a third of the page's work. The key changes with every
# refresh and every sync, so an entry is never stale; a full dict starts over (bounded).
_IMAGES: dict[tuple, dict] = {}
IMAGES_MAX = 500


def _chart_images(snapshot: services.Snapshot) -> dict:
    key = (snapshot.course_id, snapshot.computed_at, snapshot.data.get("content_hash"))
    images = _IMAGES.get(key)
    if images is None:
        if len(_IMAGES) >= IMAGES_MAX:
            _IMAGES.clear()
        images = _IMAGES[key] = _draw_charts(snapshot)
    return images


def _draw_charts(snapshot: services.Snapshot) -> dict:
    weeks = snapshot.weeks
    images = {
        "enrollments": charts.week_chart(weeks, "enrollments-chart", "Learners who enrolled per week, last 12 weeks",
                                         "enrolled", attribute="enrolled"),
        "funnel": charts.funnel_chart(
            "funnel-chart", "Learners who completed each module, of all enrolled",
            [("Enrolled", snapshot.learners["total"])]
            + [(f"Module {m['number']}: {m['title']}", m["completed"]) for m in snapshot.funnel]),
    }
    if snapshot.quizzes:
        images["quizzes"] = charts.bar_chart(
            "quizzes-chart", "Quiz facility and pass rate, in percent",
            [charts.Bar(f"{q['number']} {q['title']}", (q["facility"], q["pass_rate"]),
                        (charts.number(q["facility"], "%") if q["facility"] is not None else "no attempts",
                         charts.number(q["pass_rate"], "%") if q["pass_rate"] is not None else "no attempts"))
             for q in snapshot.quizzes],
            series=("Facility", "Pass rate"), max_value=100)
    if snapshot.capstone is not None:
        states = snapshot.capstone["states"]
        images["capstone"] = charts.bar_chart(
            "capstone-chart", "Capstone versions by state",
            [charts.Bar(label, (states[state],), (charts.number(states[state]),))
             for state, label in services.STATE_LABELS.items()])
    if snapshot.credentials is not None:
        images["credentials"] = charts.week_chart(
            weeks, "credentials-chart", "Credentials issued per week, last 12 weeks", "issued", attribute="credentials")
    return images


@bp.route(COURSE_PATH)
@access("course_instructor")
def dashboard(course_slug: str):
    db = get_db()
    outline = _outline()
    state = services.dashboard_state(db, outline, utcnow())
    db.commit()  # a first snapshot stored, or a refresh queued (nothing otherwise)
    snapshot = state.snapshot
    return render_template("instructor/dashboard.html", outline=outline, state=state, snapshot=snapshot,
                           exports=exports.recent_exports(db, outline.course_id),
                           keep_days=exports.KEEP_FOR.days,
                           images=_chart_images(snapshot) if snapshot else {},
                           state_labels=services.STATE_LABELS,
                           fresh_minutes=int(services.FRESH_FOR.total_seconds() // 60),
                           idle_days=services.stats.AT_RISK_IDLE.days)


@bp.route(COURSE_PATH + "/refresh", methods=["POST"])
@access("course_instructor")
def refresh(course_slug: str):
    db = get_db()
    computed = services.refresh_now(db, _outline())
    db.commit()
    if computed:
        flash("The figures are up to date.", "success")
    else:
        flash("The figures were refreshed less than a minute ago; they are already current.", "info")
    return redirect(url_for("instructor.dashboard", course_slug=course_slug))


@bp.route(COURSE_PATH + "/<chart>.csv")
@access("course_instructor")
def chart_csv(course_slug: str, chart: str):
    db = get_db()
    outline = _outline()
    if chart == "at-risk":
        header, rows = services.at_risk_rows(db, outline)
    elif chart in services.CHARTS:
        state = services.dashboard_state(db, outline)
        db.commit()
        if state.snapshot is None:
            raise NotFound("The figures of this course are still being computed. Try again in a minute.")
        header, rows = services.chart_table(state.snapshot, chart)
    else:
        abort(404)
    filename = f"{course_slug}-{chart}-{utcnow():%Y-%m-%d}.csv"
    return services.to_csv(header, rows), 200, {"Content-Type": "text/csv; charset=utf-8",
                                                "Content-Disposition": f'attachment; filename="{filename}"'}


# -- learners' progress exports (built by a background job: lms/instructor/exports.py) ------------------------

@bp.route(COURSE_PATH + "/exports", methods=["POST"])
@access("course_instructor")
def request_export(course_slug: str):
    db = get_db()
    requested = exports.request_export(db, g.course_access.course_id, current_user.id, utcnow())
    db.commit()
    if requested.created:
        flash("The export is queued. It is built in the background; you will get a notification with the "
              "download link when it is ready.", "success")
    else:
        flash("An export of this course is already queued or being built, so no second one was started. "
              "It is listed below; you will get a notification when it is ready.", "info")
    return redirect(url_for("instructor.dashboard", course_slug=course_slug) + "#exports")


@bp.route(COURSE_PATH + "/exports/<int:export_id>.csv")
@access("course_instructor")
def export_download(course_slug: str, export_id: int):
    db = get_db()
    export = exports.get_export(db, g.course_access.course_id, export_id)
    if export is None:
        raise NotFound("There is no such export of this course. Exports are kept for "
                       f"{exports.KEEP_FOR.days} days; request a new one from the course dashboard.")
    if export.state != "ready":
        raise NotFound("This export has no file: " + ("it is still being built. Try again in a minute."
                                                     if export.state == "queued" else f"it failed ({export.error})."))
    path = exports.file_path(current_app.config["LMS_SETTINGS"].exports_dir, export.file_name)
    if path is None or not path.is_file():
        raise NotFound("The file of this export is missing from the exports folder (removed, or written where "
                       "this server cannot read it). Request a new export from the course dashboard.")
    audit.record(db, "instructor.export_downloaded", "course", export.course_id, current_user.id, export_id=export.id)
    db.commit()
    response = send_file(path, mimetype="text/csv", as_attachment=True, max_age=0,
                         download_name=exports.download_name(course_slug, export))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- learners at risk and nudges ----------------------------------------------------------------------------

def _render_at_risk(outline: catalog.Outline, *, message: str | None = None, error: str | None = None,
                    selected: frozenset[int] = frozenset(), status: int = 200):
    now = utcnow()
    after = services.parse_cursor(request.args.get("after"))
    page = services.at_risk_page(get_db(), outline, now, after)
    return render_template("instructor/at_risk.html", outline=outline, page=page, now=now, first_page=after is None,
                           message=services.default_nudge(outline.course_title) if message is None else message,
                           error=error, selected=selected, max_length=services.NUDGE_MAX_LENGTH,
                           interval_days=services.NUDGE_INTERVAL.days,
                           idle_days=services.stats.AT_RISK_IDLE.days), status


@bp.route(COURSE_PATH + "/at-risk")
@access("course_instructor")
def at_risk(course_slug: str):
    return _render_at_risk(_outline())


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _nudge_summary(result: services.NudgeResult) -> str:
    parts = [f"Nudge sent to {_plural(result.sent, 'learner')}." if result.sent else "No nudge was sent."]
    if result.skipped_recent:
        parts.append(f"Skipped {_plural(result.skipped_recent, 'learner')}: nudged in the last "
                     f"{services.NUDGE_INTERVAL.days} days.")
    if result.not_at_risk:
        parts.append(f"Skipped {_plural(result.not_at_risk, 'learner')} no longer at risk.")
    if result.remaining:
        parts.append(f"{_plural(result.remaining, 'more learner')} at risk can be nudged: send again to reach them.")
    return " ".join(parts)


@bp.route(COURSE_PATH + "/nudge", methods=["POST"])
@access("course_instructor")
def nudge(course_slug: str):
    outline = _outline()
    message = request.form.get("message", "")
    raw_ids = request.form.getlist("enrollment")
    scope = request.form.get("scope")
    selected = frozenset(int(v) for v in raw_ids if v.isdigit() and len(v) <= 18)
    db = get_db()
    try:
        if scope not in ("selected", "all") or len(selected) != len(set(raw_ids)):
            raise services.NudgeInvalid("Choose whom to nudge: the learners you selected, or everyone at risk.")
        result = services.nudge(db, outline, current_user.id, current_user.name, message,
                                sorted(selected) if scope == "selected" else None)
        db.commit()
    except services.NudgeInvalid as exc:
        db.rollback()
        return _render_at_risk(outline, message=message, error=exc.message, selected=selected, status=exc.status_code)
    flash(_nudge_summary(result), "success" if result.sent else "info")
    return redirect(url_for("instructor.at_risk", course_slug=course_slug))
