"""Credential pages: what verifiers fetch (status lists, the DID document), each credential's public
page and download, the page where anyone checks a credential, achievements, and the course staff's
list of issued credentials with revocation and manual awards.

Nothing here signs or canonicalizes on a page view: credentials and status lists are served as stored
(the public page must stay cheap; the bench measures it). Only the verify page checks a proof, and it
is throttled per client.
"""

from __future__ import annotations

from uuid import UUID

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from lms.catalog.models import Course, Pathway
from lms.credentials import renewal, services, sharing
from lms.credentials.forms import AwardForm, RevokeForm, VerifyForm
from lms.credentials.issuance import signing_issuer
from lms.credentials.issuer import did_document_path, issuer_from_settings
from lms.credentials.keys import KeyFormatError, public_key_from_did_key
from lms.credentials.keystore import NoIssuerKey
from lms.credentials.models import StatusList
from lms.credentials.verification import verify_credential
from lms.db import get_db, utcnow
from lms.errors import DomainError
from lms.forms import ActionForm
from lms.security import TooManyAttempts, access, get_throttle, limit

bp = Blueprint("credentials", __name__, template_folder="templates")

# Checking a proof canonicalizes JSON-LD (milliseconds of CPU): enough for people, not for a flood.
VERIFICATIONS_PER_IP = limit("30 per minute")
CREDENTIAL_PATH = "/credentials/<uuid:public_id>"


def _settings():
    return current_app.config["LMS_SETTINGS"]


def _viewer() -> tuple[int | None, bool]:
    if current_user.is_authenticated:
        return current_user.id, current_user.is_admin
    return None, False


# -- what verifiers fetch ----------------------------------------------------------------------------

@bp.route("/credentials/status/<int:list_id>")
@access("public")
def status_list(list_id: int):
    document = get_db().scalar(select(StatusList.document).where(StatusList.id == list_id))
    if document is None:
        abort(404)
    response = jsonify(document)
    # Verifiers may cache a minute: a revocation shows within that time, and a burst of checks is cheap.
    response.cache_control.public, response.cache_control.max_age = True, 60
    return response


@bp.route("/.well-known/did.json")
@access("public")
def did_document():
    settings = _settings()
    if settings.issuer_did != "web" or did_document_path(settings.public_url) != "/.well-known/did.json":
        abort(404)  # a did:key issuer has no document to serve (the identifier is the key)
    response = jsonify(signing_issuer(settings).did_document())
    response.cache_control.public, response.cache_control.max_age = True, 300
    return response


# -- a credential's public page ------------------------------------------------------------------------

def _visible(public_id: UUID, erased_ok: bool = False) -> services.CredentialView:
    view = services.credential_by_public_id(get_db(), str(public_id))
    if not services.can_see(view, *_viewer()):
        # A private credential looks exactly like a missing one: its address says nothing.
        abort(404)
    if view.holder_erased and not erased_ok:
        abort(410)  # the holder deleted their account: no document, badge or certificate any more
    return view


def _site_path(url: str | None) -> str | None:
    """A link inside the credential made relative when it points at this platform (so it works on
    whatever host the page is viewed through)."""
    if not url:
        return None
    public_url = _settings().public_url
    return url[len(public_url):] or "/" if url.startswith(public_url + "/") else url


@bp.route(CREDENTIAL_PATH)
@access("public")
def page(public_id: UUID):
    view = _visible(public_id, erased_ok=True)
    if view.holder_erased:
        # Revoked at the holder's request when they deleted their account: the page says so and
        # shows no name (the name lived only in the signed document, which is no longer kept).
        return render_template("credentials/erased.html", view=view,
                               achievement=view.document["credentialSubject"]["achievement"]), 200, \
            {"X-Robots-Tag": "noindex"}
    viewer_id, viewer_is_admin = _viewer()
    is_holder = viewer_id == view.credential.user_id
    can_manage = viewer_id is not None and services.can_manage(get_db(), viewer_id, viewer_is_admin,
                                                                 view.credential.achievement_id)
    document = view.document
    achievement = document["credentialSubject"]["achievement"]
    response = render_template(
        "credentials/page.html", view=view, state=view.state(utcnow()), document=document, achievement=achievement,
        results=_results(document), image=_site_path((achievement.get("image") or {}).get("id")),
        evidence=[dict(e, url=_site_path(e.get("id"))) for e in document.get("evidence", [])],
        is_holder=is_holder, can_manage=can_manage, form=ActionForm() if is_holder else None,
        # The holder's sharing tools are drawn only for the holder: an employer's view stays cheap.
        linkedin_url=sharing.linkedin_url_for(view.credential) if is_holder else None,
        qr_svg=sharing.qr_code_svg(document["id"], title="QR code linking to this credential's page")
        if is_holder else None)
    headers = {"X-Robots-Tag": "noindex"} if not view.credential.public else {}
    return response, 200, headers


def _results(document: dict) -> list[dict]:
    """The learner's results beside what each measured (the achievement's result descriptions)."""
    subject = document["credentialSubject"]
    described = {d["id"]: d for d in subject["achievement"].get("resultDescription", [])}
    rows = []
    for result in subject.get("result", []):
        description = described.get(result.get("resultDescription"), {})
        levels = {lv.get("id"): lv.get("name", "") for lv in description.get("rubricCriterionLevel", [])}
        value, required = result.get("value"), description.get("requiredValue")
        if "achievedLevel" in result:
            value = levels.get(result["achievedLevel"], "")
            required = levels.get(description.get("requiredLevel"))
        elif description.get("resultType") == "Percent":
            value, required = (f"{v}%" if v is not None else None for v in (value, required))
        rows.append({"name": description.get("name", "Result"), "value": value, "required": required})
    return rows


@bp.route(CREDENTIAL_PATH + ".json")
@access("public")
def download(public_id: UUID):
    view = _visible(public_id)
    response = jsonify(view.document)
    slug = view.achievement_slug
    response.headers["Content-Disposition"] = f'attachment; filename="{slug}-{public_id}.json"'
    return response


@bp.route(CREDENTIAL_PATH + "/badge")
@access("public")
def badge(public_id: UUID):
    """The badge image with the credential baked in (Open Badges 3.0 baking), to upload anywhere."""
    view = _visible(public_id)
    data, media_type = sharing.baked_badge(view.document, media_dir=_settings().media_dir)
    extension = "png" if media_type == "image/png" else "svg"
    response = current_app.response_class(data, mimetype=media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{view.achievement_slug}-badge.{extension}"'
    # An SVG opened on its own is a document: it may not run scripts or load anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.route(CREDENTIAL_PATH + "/certificate")
@access("public")
def certificate(public_id: UUID):
    """A printable certificate (A4 or Letter, by the print dialog's paper) with a QR code to the page."""
    view = _visible(public_id)
    document = view.document
    return render_template("credentials/certificate.html", view=view, document=document,
                           achievement=document["credentialSubject"]["achievement"],
                           image=_site_path((document["credentialSubject"]["achievement"].get("image") or {})
                                            .get("id")),
                           qr_svg=sharing.qr_code_svg(document["id"], title="QR code linking to the credential's "
                                                                             "page, where it can be checked"))


@bp.route(CREDENTIAL_PATH + "/visibility", methods=["POST"])
@access("login")
def visibility(public_id: UUID):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    make_public = request.form.get("public") == "1"
    db = get_db()
    services.set_public(db, str(public_id), current_user.id, make_public)
    db.commit()
    flash("Your credential's page is public again: anyone with its link can see it." if make_public else
          "Your credential's page is private: its link now shows “not found” to everyone but you. "
          "The credential itself still verifies wherever you send its file.", "success")
    return redirect(url_for("credentials.page", public_id=public_id))


@bp.route(CREDENTIAL_PATH + "/renew", methods=["POST"])
@access("login")
def renew(public_id: UUID):
    """Start renewing by the capstone: a new draft of it, graded as a first hand-in (lms/credentials/renewal.py)."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    db = get_db()
    view = services.credential_by_public_id(db, str(public_id))
    if view.credential.user_id != current_user.id or view.course_slug is None:
        abort(404)
    course_id = db.scalar(select(Course.id).where(Course.slug == view.course_slug))
    try:
        renewal.start_capstone_renewal(db, current_user.id, course_id, utcnow())
        db.commit()
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
        return redirect(url_for("progress.dashboard"))
    flash("Your renewal has started: hand in the capstone again, against the rubric current today. Passing it "
          "renews your credential.", "success")
    return redirect(url_for("capstones.page", course_slug=view.course_slug))


@bp.route(CREDENTIAL_PATH + "/revoke", methods=["GET", "POST"])
@access("login")
def revoke(public_id: UUID):
    db = get_db()
    view = services.credential_by_public_id(db, str(public_id))
    if not services.can_manage(db, current_user.id, current_user.is_admin, view.credential.achievement_id):
        abort(403)
    form = RevokeForm()
    if view.credential.revoked_at is None and form.validate_on_submit():
        try:
            services.revoke(db, str(public_id), current_user.id, current_user.is_admin, form.reason.data, utcnow())
            db.commit()
        except DomainError as exc:
            db.rollback()
            form.form_errors.append(exc.message)
        else:
            flash("The credential is revoked. Verifiers see it within a minute; its page shows it now.", "success")
            return redirect(url_for("credentials.page", public_id=public_id))
    status = 422 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template("credentials/revoke.html", view=view, form=form), status


# -- checking a credential -------------------------------------------------------------------------------

def _resolver():
    try:
        return issuer_from_settings(_settings()).resolve  # did:key, and this platform's own did:web
    except (NoIssuerKey, KeyFormatError):
        return public_key_from_did_key


def _submitted_document(form: VerifyForm) -> bytes | str:
    upload = form.upload.data
    if upload and getattr(upload, "filename", ""):
        data = upload.read()
        if not data:
            raise ValueError("The uploaded file is empty: upload the credential's .json file.")
        return _unbaked(data)
    if not form.document.data:
        raise ValueError("Paste the credential's JSON or upload its file.")
    return form.document.data


def _unbaked(data: bytes) -> bytes | dict:
    """A JSON file as it is; a badge image gives up the credential baked into it."""
    if data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{":  # JSON (perhaps after a byte order mark)
        return data
    credential = sharing.unbake(data)
    if credential is None:
        raise ValueError("That image has no credential baked into it. Ask the holder for their credential's "
                         ".json file, or for the badge downloaded from their credential page.")
    return credential


@bp.route("/verify", methods=["GET", "POST"])
@access("public")
def verify():
    form = VerifyForm()
    verdict, problem, status = None, None, 200
    if form.validate_on_submit():
        throttle = get_throttle()
        key = ("verify-ip", request.remote_addr or "unknown")
        try:
            throttle.check([(VERIFICATIONS_PER_IP, key)], "checks from your network")
            throttle.hit(VERIFICATIONS_PER_IP, *key)
            verdict = verify_credential(_submitted_document(form), _resolver(),
                                        fetch_status_list=services.own_status_lists(get_db(), _settings().public_url))
        except TooManyAttempts as exc:
            problem, status = exc.message, 429
        except ValueError as exc:
            problem, status = str(exc), 422
    elif form.is_submitted():
        problem, status = "The form expired. Paste or upload the credential again.", 400
    return render_template("credentials/verify.html", form=form, verdict=verdict, problem=problem,
                           summary=_summary(verdict)), status


def _summary(verdict) -> dict | None:
    """What the verdict is about, read from the checked document (never from our database)."""
    if verdict is None or not verdict.authentic:
        return None
    document = verdict.credential
    subject = document.get("credentialSubject", {})
    issuer = document.get("issuer")
    credential_id = document.get("id") if isinstance(document.get("id"), str) else ""
    own = credential_id.startswith(f"{_settings().public_url}/credentials/")
    return {"achievement": (subject.get("achievement") or {}).get("name"), "holder": subject.get("name"),
            "issuer": issuer.get("name") if isinstance(issuer, dict) else issuer,
            "valid_from": document.get("validFrom"), "valid_until": document.get("validUntil"),
            "page": _site_path(credential_id) if own else None}


# -- achievements --------------------------------------------------------------------------------------

@bp.route("/achievements/<slug>")
@access("public")
def achievement(slug: str):
    achievement_, version, course_slug = services.achievement_by_slug(get_db(), slug)
    return render_template("credentials/achievement.html", achievement=achievement_, spec=version.spec,
                           course_slug=course_slug, image=version.spec.get("image_url"))


# -- course staff: the credentials a course issued ---------------------------------------------------------

@bp.route("/courses/<course_slug>/credentials")
@access("course_instructor")
def issued(course_slug: str):
    page_number = request.args.get("page", 1, type=int) or 1
    search = request.args.get("q", "")[:100]
    rows, total = services.course_credentials(get_db(), g.course_access.course_id, utcnow(), page_number, search)
    title = get_db().scalar(select(Course.title).where(Course.id == g.course_access.course_id))
    pages = max(1, -(-total // services.PAGE_SIZE))
    return render_template("credentials/issued.html", course_slug=course_slug, course_title=title, rows=rows,
                           total=total, page=min(page_number, pages), pages=pages, q=search,
                           can_award=current_user.is_admin)


@bp.route("/courses/<course_slug>/credentials/award", methods=["GET", "POST"])
@access("course_instructor")
def award(course_slug: str):
    if not current_user.is_admin:
        abort(403)  # instructors see the list; awarding past the rules is an admin's call
    course_id = g.course_access.course_id
    title = get_db().scalar(select(Course.title).where(Course.id == course_id))
    return _award_page(
        title, url_for("credentials.issued", course_slug=course_slug), "Credentials issued",
        preview=lambda db, email: services.preview_award(db, True, course_id, email),
        award_=lambda db, email, waiver: services.award_manually(db, current_user.id, True, course_id, email,
                                                                 waiver, utcnow()))


@bp.route("/pathways/<pathway_slug>/award", methods=["GET", "POST"])
@access("admin")
def award_pathway(pathway_slug: str):
    """An admin awards a pathway's credential by hand: after a mistaken revocation (never undone, and
    never issued again automatically), or waiving course credentials the learner does not hold."""
    title = get_db().scalar(select(Pathway.title).where(Pathway.slug == pathway_slug, Pathway.retired_at.is_(None)))
    if title is None:
        abort(404)
    return _award_page(
        title, url_for("pathways.pathway", pathway_slug=pathway_slug), title,
        preview=lambda db, email: services.preview_pathway_award(db, True, pathway_slug, email, utcnow()),
        award_=lambda db, email, waiver: services.award_pathway_manually(db, current_user.id, True, pathway_slug,
                                                                         email, waiver, utcnow()))


def _award_page(title: str, back_url: str, back_text: str, *, preview, award_):
    """The two steps of a manual award: the form checks and previews, then a confirmed post awards."""
    db = get_db()
    form = AwardForm()
    checked = None
    if form.validate_on_submit():
        try:
            if request.form.get("confirm") != "1":
                checked = preview(db, form.email.data)
            else:
                credential = award_(db, form.email.data, form.waiver.data)
                db.commit()
                flash("Credential awarded. The waiver is in the audit log.", "success")
                return redirect(url_for("credentials.page", public_id=credential.public_id))
        except DomainError as exc:
            db.rollback()
            form.form_errors.append(exc.message)
    status = 422 if form.is_submitted() and (form.errors or form.form_errors) else 200
    return render_template("credentials/award.html", title=title, form=form, preview=checked,
                           back_url=back_url, back_text=back_text), status
