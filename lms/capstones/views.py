"""Capstone pages: the learner's page (brief, draft, files, versions), the grader queue, the grading
screen, downloads, and the public page of a shared capstone.

Views parse the form, call lms.capstones.services, commit once and redirect. Access: the course
rules in lms/security.py decide who reaches a page; the file download checks, in addition, that a
learner only ever gets files of their own submissions.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from lms.capstones import services
from lms.capstones.paths import submissions_prefix
from lms.catalog import services as catalog
from lms.db import get_db, utcnow
from lms.errors import DomainError
from lms.security import access
from lms.uploads import accepts_uploads, get_upload_store
from lms.uploads.responses import download_response

bp = Blueprint("capstones", __name__, template_folder="templates")

CAPSTONE_PATH = "/courses/<course_slug>/capstone"


def _record() -> services.CapstoneRecord:
    return services.live_capstone(get_db(), g.course_access.course_id)


def _outline() -> catalog.Outline:
    access_ = g.course_access
    return catalog.get_outlines(get_db(), [(access_.course_id, access_.content_hash)])[access_.course_id]


def _is_staff() -> bool:
    return current_user.is_admin or bool(g.course_access.roles)


def _enrollment_id() -> int:
    enrollment_id = g.course_access.enrollment_id
    if enrollment_id is None:
        raise services.CapstoneError("Capstones are submitted by enrolled learners. As course staff, grade them "
                                     "from the grading queue.")
    return enrollment_id


def _page_url(course_slug: str, anchor: str = "") -> str:
    return url_for("capstones.page", course_slug=course_slug) + (f"#{anchor}" if anchor else "")


# -- the learner's page --------------------------------------------------------------------------------

@bp.route(CAPSTONE_PATH)
@access("enrolled")
def page(course_slug: str):
    db = get_db()
    record = _record()
    outline = _outline()
    enrollment_id = g.course_access.enrollment_id
    versions = services.versions_of(db, enrollment_id, record.item_id) if enrollment_id else []
    current = versions[-1] if versions else None
    problems = []
    if current is not None and current.submission.state == "draft":
        problems = services.readiness(record, current.submission.text, current.submission.links, current.files)
    brief_html = catalog.get_item_html(db, record.item_id, outline.content_hash)
    changes = {}
    for before, after in zip(versions, versions[1:], strict=False):
        changes[after.submission.id] = services.changes_between(before, after)
    return render_template("capstones/page.html", outline=outline, record=record, capstone=record.capstone,
                           brief_html=brief_html, versions=versions, current=current, problems=problems,
                           enrolled=enrollment_id is not None, is_staff=_is_staff(), changes=changes,
                           share_url=_share_url(current.submission) if current else None, rubric_for=_rubric_for)


def _rubric_for(version_id: int):
    """The capstone definition a review was graded with (reviews keep their rubric version)."""
    return services.capstone_version(get_db(), version_id)


def _share_url(submission) -> str | None:
    if not submission.share_token:
        return None
    return url_for("capstones.shared", token=submission.share_token, _external=True)


def _act(course_slug: str, action, success: str | None = None, anchor: str = "draft"):
    """Run a service action for the learner; flash its outcome; back to the page."""
    db = get_db()
    try:
        action(db)
        db.commit()
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
    else:
        if success:
            flash(success, "success")
    return redirect(_page_url(course_slug, anchor))


@bp.route(CAPSTONE_PATH + "/draft", methods=["POST"])
@access("enrolled")
def save(course_slug: str):
    """Save the write-up and links; with ``action=submit``, save and submit."""
    record = _record()
    enrollment_id = _enrollment_id()
    text = request.form.get("text", "")
    links = request.form.get("links", "").splitlines()
    submitting = request.form.get("action") == "submit"
    db = get_db()
    try:
        services.save_draft(db, enrollment_id, record, text, links)
        if submitting:
            db.flush()
            services.submit(db, enrollment_id, record)
        db.commit()
    except services.NotReady as exc:
        # The draft itself is kept: the learner loses nothing by submitting too early.
        db.rollback()
        services.save_draft(db, enrollment_id, record, text, links)
        db.commit()
        flash(exc.message, "error")
        return redirect(_page_url(course_slug, "draft"))
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
        # What they typed is not lost: show the form again with it, and the error.
        return _page_with_unsaved(course_slug, record, text, "\n".join(links), exc.message)
    flash("Submitted. A grader will review it; you will be notified." if submitting else "Draft saved.",
          "success")
    return redirect(_page_url(course_slug, "status" if submitting else "draft"))


def _page_with_unsaved(course_slug: str, record, text: str, links: str, error: str):
    # Re-render with the unsaved input instead of the stored draft (status 400: nothing was saved).
    db = get_db()
    versions = services.versions_of(db, g.course_access.enrollment_id, record.item_id)
    current = versions[-1] if versions else None
    html = render_template("capstones/page.html", outline=_outline(), record=record, capstone=record.capstone,
                           brief_html=catalog.get_item_html(db, record.item_id, g.course_access.content_hash),
                           versions=versions, current=current, problems=[], enrolled=True, is_staff=_is_staff(),
                           changes={}, share_url=None, unsaved={"text": text, "links": links, "error": error},
                           rubric_for=_rubric_for)
    return html, 400


@bp.route(CAPSTONE_PATH + "/files", methods=["POST"])
@access("enrolled")
@accepts_uploads
def upload(course_slug: str):
    record = _record()
    enrollment_id = _enrollment_id()
    rule = record.capstone.deliverables.files
    if rule is None:
        flash("This capstone does not take files.", "error")
        return redirect(_page_url(course_slug))
    uploaded = request.files.get("file")
    if uploaded is None or not uploaded.filename:
        flash("Choose a file to upload first.", "error")
        return redirect(_page_url(course_slug, "files"))
    db = get_db()
    try:
        stored = services.add_file(db, get_upload_store(), enrollment_id, record, uploaded.stream, uploaded.filename)
        db.commit()
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
        return redirect(_page_url(course_slug, "files"))
    flash(f"“{stored.name}” attached.", "success")
    return redirect(_page_url(course_slug, "files"))


@bp.route(CAPSTONE_PATH + "/files/<int:file_id>/remove", methods=["POST"])
@access("enrolled")
def remove(course_slug: str, file_id: int):
    record = _record()
    enrollment_id = _enrollment_id()
    return _act(course_slug, lambda db: services.remove_file(db, enrollment_id, record, file_id), "File removed.",
                "files")


@bp.route(CAPSTONE_PATH + "/files/<int:file_id>")
@access("enrolled")
def download(course_slug: str, file_id: int):
    """A file of a submission, always as a download. Learners get only their own (others: 404)."""
    db = get_db()
    row = services.file_in_course(db, file_id, g.course_access.course_id)
    if row is None:
        abort(404)
    file, enrollment_id = row
    if enrollment_id != g.course_access.enrollment_id and not _is_staff():
        abort(404)
    return download_response(get_upload_store(), file.sha256, file.name, file.media_type)


@bp.route(CAPSTONE_PATH + "/revise", methods=["POST"])
@access("enrolled")
def revise(course_slug: str):
    record = _record()
    enrollment_id = _enrollment_id()
    return _act(course_slug, lambda db: services.start_revision(db, enrollment_id, record),
                "A new version is ready: it starts as a copy of your last one. Change what the feedback asks, "
                "then submit.")


@bp.route(CAPSTONE_PATH + "/share", methods=["POST"])
@access("enrolled")
def share(course_slug: str):
    record = _record()
    enrollment_id = _enrollment_id()
    sharing = request.form.get("action") != "unshare"

    def act(db):
        versions = services.versions_of(db, enrollment_id, record.item_id)
        passed = next((v.submission for v in reversed(versions) if v.submission.state == "passed"), None)
        if passed is None:
            raise services.NotEditable("Only a passed capstone can be shared.")
        if sharing:
            services.share(db, passed, current_user.id)
        else:
            services.unshare(db, passed, current_user.id)

    return _act(course_slug, act, "Your capstone is public at the address below: anyone with the link can see it."
                if sharing else "Your capstone is private again; the old address no longer works.", "share")


# -- the public page of a shared capstone ----------------------------------------------------------------

@bp.route("/shared/capstones/<token>")
@access("public")
def shared(token: str):
    submission, files, review, learner, course_title, capstone_title = services.shared_submission(get_db(), token)
    capstone = services.capstone_version(get_db(), submission.capstone_version_id)
    response = render_template("capstones/shared.html", submission=submission, files=files, review=review,
                               learner=learner, course_title=course_title, capstone_title=capstone_title,
                               capstone=capstone, token=token)
    return response, 200, {"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


@bp.route("/shared/capstones/<token>/files/<int:file_id>")
@access("public")
def shared_file(token: str, file_id: int):
    _submission, files, *_ = services.shared_submission(get_db(), token)
    file = next((f for f in files if f.id == file_id), None)
    if file is None:
        abort(404)
    return download_response(get_upload_store(), file.sha256, file.name, file.media_type)


# -- the grader queue ------------------------------------------------------------------------------------

def _parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    try:
        stamp, _, ident = raw.rpartition("_")
        return datetime.fromtimestamp(int(stamp) / 1_000_000, UTC), int(ident)
    except (ValueError, OverflowError, OSError):
        raise DomainError("That page link is not valid; start again from the first page of the queue.") from None


def _cursor(value: tuple[datetime, int] | None) -> str | None:
    if value is None:
        return None
    stamp = value[0] if value[0].tzinfo else value[0].replace(tzinfo=UTC)
    return f"{int(stamp.timestamp() * 1_000_000)}_{value[1]}"


@bp.route("/grading")
@access("login")
def queue():
    db = get_db()
    courses = services.graded_courses(db, current_user.id, current_user.is_admin)
    if not courses:
        return render_template("capstones/queue.html", courses=[], rows=[], counts={}, status="waiting",
                               course=None, next_cursor=None), 403
    status = request.args.get("status", "waiting")
    if status not in services.QUEUE_STATUSES:
        status = "waiting"
    selected = request.args.get("course") or None
    if selected is not None and selected not in courses.by_slug:
        flash("You do not grade that course; showing all your courses.", "error")
        selected = None
    scope = services.QueueScope(current_user.id, course_id=courses.by_slug[selected].id if selected else None,
                                every_course=current_user.is_admin)
    now = utcnow()
    entries, next_cursor = services.grader_queue(db, scope, status, _parse_cursor(request.args.get("after")),
                                                 now=now)
    counts = services.queue_counts(db, scope, now)
    rows = _queue_rows(entries, courses, current_user.id, now)
    return render_template("capstones/queue.html", courses=courses, rows=rows,
                           course_options=_course_options(courses, selected),
                           counts=counts, status=status, course=selected, next_cursor=_cursor(next_cursor),
                           status_options=_status_options(status))


def _options(choices, selected: str | None) -> Markup:
    """<option>s for (value, label) pairs, the selected one marked; both are escaped."""
    return Markup("").join(Markup('<option value="{}"{}>{}</option>').format(
        value, Markup(" selected") if value == selected else "", label) for value, label in choices)


# The filters' options are built once per choice (and per list of courses) rather than looped over
# in the template: a grader of fifty courses would otherwise pay for a fifty-step loop on every view.
@functools.cache
def _status_options(selected: str) -> Markup:
    return _options(services.QUEUE_STATUSES.items(), selected)


@functools.lru_cache(maxsize=512)
def _course_options(courses: services.GradedCourses, selected: str | None) -> Markup:
    # The same list of courses is the same object (services.graded_courses), so this key is cheap.
    return _options(((c.slug, c.title) for c in courses), selected)


@functools.lru_cache(maxsize=512)
def _course_cells(courses: services.GradedCourses) -> dict[int, tuple[str, Markup]]:
    """Per course of the list, the start of its entries' links and its title, escaped once."""
    return {c.id: (escape(submissions_prefix(c.slug)), escape(c.title)) for c in courses}


def _queue_rows(entries: list[services.QueueEntry], courses: services.GradedCourses, me: int,
                now: datetime) -> Markup:
    """The queue's entries as HTML: written here rather than looped over in the template, where 25
    entries cost more than the rest of the page together (bench: the queue page). Every value that
    comes from a person (names, titles) is escaped."""
    cells = _course_cells(courses)
    html = []
    for e in entries:
        link, title = cells[e.course_id]
        who = services.pseudonym(e.enrollment_id) if e.course_id in courses.blind_ids else e.learner_name
        claim = ""
        if e.claim_active(now):
            claim = " · claimed by you" if e.claimed_by_id == me else f" · being graded by {escape(e.claimed_by_name)}"
        html.append(
            f'<li class="card queue-entry">\n<a class="card-link" href="{link}{e.submission_id}">'
            f'{escape(who)}, version {e.version}</a>\n<p class="meta">{title} · waiting <strong>'
            f'{services.waiting_time(e.submitted_at, now)}</strong>{claim}</p>\n</li>\n')
    return Markup("".join(html))


# -- grading ---------------------------------------------------------------------------------------------

SUBMISSION_PATH = CAPSTONE_PATH + "/submissions/<int:submission_id>"


def _grading_page(submission_id: int, *, form: dict | None = None, error: str | None = None, status: int = 200):
    db = get_db()
    context = services.grading_context(db, g.course_access.course_id, submission_id)
    now = utcnow()
    submission = context.submission
    mine = (submission.state == "in_review" and submission.claimed_by_id == current_user.id)
    claimer = None
    if submission.state == "in_review" and not mine:
        claimer = services.user_name(db, submission.claimed_by_id)
    previous = context.previous
    changes = services.changes_between(previous, context.current) if previous else None
    brief_html = catalog.get_item_html(db, submission.item_id, g.course_access.content_hash)
    history = services.history(db, [v.submission.id for v in context.versions])
    blind = services.is_blind(context.capstone) and not current_user.is_admin
    return render_template(
        "capstones/grade.html", context=context, submission=submission, capstone=context.capstone, mine=mine,
        claimer=claimer, claim_stale=bool(submission.claim_expires_at and submission.claim_expires_at <= now),
        changes=changes, brief_html=brief_html, history=history, now=now, form=form or {}, error=error,
        can_override="instructor" in g.course_access.roles or current_user.is_admin,
        own=context.learner_id == current_user.id, blind=blind, pseudonym=services.pseudonym,
        revisions_left=context.revision_number - 1 < context.capstone.max_revisions,
        revision_number=context.revision_number, rubric_for=_rubric_for,
    ), status


@bp.route(SUBMISSION_PATH)
@access("course_grader")
def submission_page(course_slug: str, submission_id: int):
    return _grading_page(submission_id)


def _grader_act(course_slug: str, submission_id: int, action, success: str):
    db = get_db()
    services.grading_context(db, g.course_access.course_id, submission_id)  # 404 for another course's number
    try:
        action(db)
        db.commit()
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return redirect(url_for("capstones.submission_page", course_slug=course_slug, submission_id=submission_id))


@bp.route(SUBMISSION_PATH + "/claim", methods=["POST"])
@access("course_grader")
def claim(course_slug: str, submission_id: int):
    until = utcnow() + services.CLAIM_DURATION
    return _grader_act(course_slug, submission_id,
                       lambda db: services.claim(db, submission_id, current_user.id),
                       f"It is yours to grade until {until:%H:%M} UTC; nobody else can grade it meanwhile.")


@bp.route(SUBMISSION_PATH + "/release", methods=["POST"])
@access("course_grader")
def release(course_slug: str, submission_id: int):
    return _grader_act(course_slug, submission_id, lambda db: services.release(db, submission_id, current_user.id),
                       "Released: it is back in the queue for any grader.")


@bp.route(SUBMISSION_PATH + "/grade", methods=["POST"])
@access("course_grader")
def grade(course_slug: str, submission_id: int):
    db = get_db()
    context = services.grading_context(db, g.course_access.course_id, submission_id)
    form = request.form
    scores, comments, unparsable = {}, {}, []
    for criterion in context.capstone.rubric:
        raw = form.get(f"score-{criterion.key}", "").strip()
        if raw:
            try:
                scores[criterion.key] = float(raw)
            except ValueError:
                unparsable.append(criterion.title)
        comments[criterion.key] = form.get(f"comment-{criterion.key}", "")
    grading = services.Grading(scores=scores, criterion_comments=comments, comment=form.get("comment", ""),
                               outcome=form.get("outcome") or None, override_reason=form.get("override_reason"))
    try:
        if unparsable:
            raise services.GradingInvalid("Choose one of the levels for: " + ", ".join(unparsable) + ".")
        review = services.grade(db, submission_id, current_user.id, grading,
                                can_override="instructor" in g.course_access.roles or current_user.is_admin)
        db.commit()
    except DomainError as exc:
        db.rollback()
        # Nothing the grader entered is lost: the screen comes back filled in, with the reason.
        return _grading_page(submission_id, form=form.to_dict(), error=exc.message, status=exc.status_code)
    labels = {"passed": "Passed", "needs_revision": "Needs revision", "not_passed": "Not passed"}
    flash(f"Graded: {labels[review.outcome]} ({review.points:g} of {review.max_points:g} points). "
          "The learner has been notified.", "success")
    next_up = services.next_waiting(db, current_user.id, g.course_access.course_id)
    if next_up is not None:
        return redirect(url_for("capstones.submission_page", course_slug=course_slug, submission_id=next_up))
    return redirect(url_for("capstones.queue"))


def claim_minutes() -> int:
    return int(services.CLAIM_DURATION / timedelta(minutes=1))


# -- the grader dashboard ---------------------------------------------------------------------------------

@bp.route("/grading/dashboard")
@access("login")
def dashboard():
    """Queue size and oldest waiting version per graded course, and the grader's own reviews per week."""
    from lms.capstones import dashboard as grading_dashboard  # noqa: PLC0415

    db = get_db()
    courses = services.graded_courses(db, current_user.id, current_user.is_admin)
    if not courses:
        return render_template("capstones/dashboard.html", board=None, is_admin=False), 403
    board = grading_dashboard.grader_dashboard(db, current_user.id, courses, is_admin=current_user.is_admin,
                                               now=utcnow())
    return render_template("capstones/dashboard.html", board=board, is_admin=current_user.is_admin)
