"""The learner's dashboard: their courses with progress and next step, what still stands between them
and each course's credential, the credentials they hold, and their pathways."""

from datetime import datetime

from flask import Blueprint, current_app, render_template, session
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import Session

from lms.credentials.eligibility import blockers_of_enrolled
from lms.credentials.held import held_credentials
from lms.credentials.pathways import pathway_progress
from lms.credentials.renewal import renewal_statuses, window_opens
from lms.db import get_db, utcnow
from lms.notifications.services import latest_unread
from lms.progress import dashboard_cache, services
from lms.progress.cards import render_cards
from lms.security import access
from lms.spaced_review.services import next_due_after

bp = Blueprint("progress", __name__, template_folder="templates")


@bp.route("/dashboard")
@access("login")
def dashboard():
    db = get_db()
    now = utcnow()
    user_id = current_user.id
    cache = current_app.extensions["lms.dashboard_cache"]
    # First, before anything the main part is rendered from (see lms/progress/dashboard_cache.py).
    current = dashboard_cache.stamps(db, user_id)
    body = cache.get(user_id, session.get("csrf_token"), current, current_user.email_verified, now)
    if body is None:
        body, until = _render_body(db, user_id, now)
        cache.put(user_id, session.get("csrf_token"), current, current_user.email_verified, until, body)
    # Unread notifications only when the stored counter says there are some (no statement otherwise).
    notices = latest_unread(db, user_id) if current_user.unread_notifications else []
    return render_template("progress/dashboard.html", body=body, notices=notices)


def _render_body(db: Session, user_id: int, now: datetime) -> tuple[Markup, datetime]:
    """The dashboard's main part, and until when it reads the same if no row changes."""
    cards = services.learner_dashboard(db, user_id, now)
    held = held_credentials(db, user_id)
    earned = {h.course_id for h in held if not h.revoked}
    # One batch for every course still to earn, from what the dashboard read (one statement).
    blockers = blockers_of_enrolled(db, current_user.email_verified,
                                    [services.credential_facts(c) for c in cards if c.course_id not in earned])
    # Renewal only for credentials that expire (no statement at all when none does).
    expiring = [h for h in held if h.current and h.valid_until]
    renewals = renewal_statuses(db, user_id, [h.course_id for h in expiring], now, held=held)
    # Pathways the learner has started on (a course credential toward it) or earned: none without a
    # current credential (no statement then), else one, and one more for the titles of pathway courses
    # the learner is not enrolled in (the others' came with the enrollments).
    pathways = [p for p in pathway_progress(db, user_id, held=held,
                                            titles={card.course_slug: card.course_title for card in cards})
                if p.held or p.held_count] if any(h.current for h in held) else []
    # Each quiz's best score, read with the enrollments.
    scores = {card.enrollment_id: card.best_scores for card in cards if card.best_scores}
    # Due review questions per course (courses with none left out), read with the enrollments.
    review_due = {card.course_id: card.review_due for card in cards if card.review_due}
    body = Markup(render_template("progress/_dashboard_body.html", cards=cards,
                                  cards_html=render_cards(cards, scores, review_due, blockers, earned), held=held,
                                  pathways=pathways, renewals=renewals, now=now, review_due=review_due))
    until = dashboard_cache.fresh_until(
        now, next_review_due=next_due_after(db, user_id, now),
        expiries=[(h.valid_until, window_opens(h.valid_until)) for h in held if h.valid_until])
    return body, until
