"""Routes of lms/spaced_review (see the package docstring): a review session, one question per page.

GET /review shows what is due per course and the first due question; POST /review/cards/<id> answers
it and redirects (POST-redirect-GET) to GET /review/cards/<id>, the outcome with the feedback and a
"Next question" link. ``?course=<slug>`` keeps a session to one course.

Showing a question reuses the quiz pages' macros (quizzes/_questions.html) and their helpers for the
right answer and the feedback of a response, so a question looks and reads the same in both places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from lms.db import get_db, utcnow
from lms.questions.model import Question
from lms.quizzes.responses import displayed, field_name
from lms.quizzes.services import QuestionRecord
from lms.quizzes.views import feedback_paths, render_cloze, right_answer
from lms.security import access
from lms.spaced_review import services
from lms.spaced_review.models import BOX_INTERVAL_DAYS

bp = Blueprint("spaced_review", __name__, template_folder="templates")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
BOXES = len(BOX_INTERVAL_DAYS)  # boxes a card moves through before it is learned


def _course_arg(raw: str | None) -> str | None:
    """A course slug from the query or the form; anything else (typed or tampered) means "all courses"."""
    return raw if raw and _SLUG.match(raw) else None


@dataclass
class CardView:
    """A question as the quiz macros expect it (``q`` in quizzes/_questions.html and render_cloze)."""

    version: QuestionRecord
    order: Any
    shown: dict = field(default_factory=dict)

    @property
    def question(self) -> Question:
        return self.version.question

    @property
    def field(self) -> str:
        return field_name(self.version.id)


def _session_page(course_slug: str | None, error: str | None = None, status: int = 200,
                  card_id: int | None = None):
    """The session's page: what is due per course and one question (the first due, or ``card_id`` to show
    a question again with ``error`` after an answer that could not be scored)."""
    db = get_db()
    now = utcnow()
    summary = services.review_summary(db, current_user.id, now)
    course = next((c for c in summary if c.slug == course_slug), None) if course_slug else None
    shown = [course] if course_slug else summary
    due = sum(c.due for c in shown if c is not None)
    card = services.due_card(db, current_user.id, card_id, now) if card_id is not None else None
    if card is None and due:
        found = services.next_session(db, current_user.id, now, course.course_id if course else None, size=1)
        card = found[0] if found else None
    next_due = min((c.next_due for c in shown if c is not None and c.next_due is not None), default=None)
    return render_template("spaced_review/index.html", summary=summary, course=course, course_slug=course_slug,
                           due=due if card else 0, card=card, view=CardView(card.record, card.order) if card else None,
                           next_due=next_due, error=error, boxes=BOXES, render_cloze=render_cloze), status


@bp.route("/review")
@access("login")
def index():
    return _session_page(_course_arg(request.args.get("course")))


@bp.route("/review/cards/<int:card_id>", methods=["POST"])
@access("login")
def answer(card_id: int):
    db = get_db()  # (CSRF is checked for every POST by CSRFProtect)
    course_slug = _course_arg(request.form.get("course"))
    try:
        outcome = services.answer_card(db, current_user.id, card_id, request.form, utcnow())
    except services.MalformedAnswer as exc:
        db.rollback()
        return _session_page(course_slug, exc.message, exc.status_code, card_id)
    except services.NotDueYet as exc:
        db.rollback()
        flash(exc.message, "info")
        return redirect(url_for("spaced_review.index", course=course_slug))
    db.commit()
    if outcome.already_answered:
        flash("You had already answered this question (in another tab or window): this is what that answer "
              "recorded.", "info")
    return redirect(url_for("spaced_review.outcome", card_id=card_id, course=course_slug), 303)


@bp.route("/review/cards/<int:card_id>")
@access("login")
def outcome(card_id: int):
    course_slug = _course_arg(request.args.get("course"))
    result = services.last_outcome(get_db(), current_user.id, card_id)  # CardNotFound -> the 404 page
    if result is None:  # never answered: the session shows it when it is due
        return redirect(url_for("spaced_review.index", course=course_slug))
    question = result.record.question
    view = CardView(result.record, result.order, displayed(question, result.order, result.response))
    html = result.record.html
    feedback = [html[path] for path in feedback_paths(question, result.response) if path in html] \
        if result.reveal else []
    return render_template("spaced_review/outcome.html", result=result, view=view, feedback=feedback,
                           right=right_answer(question, html) if result.reveal and not result.correct else "",
                           course_slug=course_slug, boxes=BOXES, render_cloze=render_cloze)
