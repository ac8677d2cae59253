"""Quiz pages: the quiz's panel on its item page, taking an attempt, and reviewing it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request
from flask_login import current_user
from markupsafe import Markup, escape

from lms.catalog import services as catalog
from lms.db import get_db, utcnow
from lms.errors import DomainError
from lms.lessons.views import ITEM_PANELS, ItemPage, lock_of, locked_message
from lms.questions.model import FillInBlanks, Question
from lms.questions.scoring import match_text, numeric_matches, parse_number
from lms.quizzes import services
from lms.quizzes.analysis import quiz_statistics, to_csv
from lms.quizzes.models import AttemptAnswer, QuizAttempt
from lms.quizzes.responses import UNSET, displayed, field_name, parse_response
from lms.security import access

bp = Blueprint("quizzes", __name__, template_folder="templates")

QUIZ_PATH = "/courses/<course_slug>/<module_slug>/<item_slug>"


def _quiz_item(module_slug: str, item_slug: str) -> tuple[catalog.Outline, catalog.OutlineItem]:
    access_ = g.course_access
    outline = catalog.get_outlines(get_db(), [(access_.course_id, access_.content_hash)])[access_.course_id]
    item = outline.find(module_slug, item_slug)
    if item is None or item.kind != "quiz":
        abort(404)
    return outline, item


def _enrollment_id() -> int:
    enrollment_id = g.course_access.enrollment_id
    if enrollment_id is None:
        raise services.QuizUnavailable("Quizzes are taken by enrolled learners; as course staff you can read them "
                                       "on the course's quiz page.")
    return enrollment_id


# -- the panel on the quiz's item page -----------------------------------------------------------

def quiz_panel(page: ItemPage) -> str:
    db = get_db()
    quiz = services.get_quiz(db, page.item.id, page.outline.content_hash)
    attempts = services.attempts_of(db, page.enrollment_id, page.item.id) if page.enrollment_id else []
    counted = services.counted_attempt(attempts, quiz.settings["grade"])
    open_attempt = next((a for a in attempts if a.state == "open"), None)
    used = sum(1 for a in attempts if a.state == "submitted")
    allowed = quiz.settings.get("attempts") or 0
    intro_html = catalog.get_item_html(db, page.item.id, page.outline.content_hash)
    can_analyse = current_user.is_admin or "instructor" in g.course_access.roles
    return render_template("quizzes/_panel.html", quiz=quiz, item=page.item, attempts=attempts, counted=counted,
                           intro_html=intro_html, can_analyse=can_analyse,
                           open_attempt=open_attempt, used=used, allowed=allowed,
                           enrolled=page.enrollment_id is not None,
                           question_count=min(len(quiz.questions), quiz.settings.get("draw") or len(quiz.questions)))


ITEM_PANELS["quiz"] = quiz_panel


# -- starting -------------------------------------------------------------------------------------

@bp.route(QUIZ_PATH + "/attempts", methods=["POST"])
@access("enrolled")
def start(course_slug: str, module_slug: str, item_slug: str):
    outline, item = _quiz_item(module_slug, item_slug)
    db = get_db()
    lock = lock_of(outline, item)
    if lock is not None:
        flash(locked_message(lock), "error")
        return redirect(item.url)
    try:
        quiz = services.get_quiz(db, item.id, g.course_access.content_hash)
        attempt = services.start_attempt(db, _enrollment_id(), quiz, utcnow())
        db.commit()
    except services.QuizUnavailable as exc:
        db.commit()  # an expired attempt may have been submitted on the way
        flash(exc.message, "error")
        return redirect(item.url)
    return redirect(f"{item.url}/attempts/{attempt.number}")


# -- taking and reviewing -------------------------------------------------------------------------

@dataclass
class QuestionView:
    number: int
    version: services.QuestionRecord
    question: Question
    order: object
    answer: AttemptAnswer | None
    shown: dict
    final: bool  # the answer can no longer change (checked, or the attempt is submitted)
    feedback_visible: bool
    # The lessons that teach it: the one its lesson= names, else the lessons of the quiz's module.
    lessons: tuple[catalog.OutlineItem, ...] = ()

    @property
    def missed(self) -> bool:
        status = self.answer.status if self.answer else "unanswered"
        return self.question.scored and status in ("incorrect", "partial", "unanswered")

    @property
    def field(self) -> str:
        return field_name(self.version.id)

    @property
    def feedback_html(self) -> list[str]:
        """The stored HTML of the feedback attached to what the learner answered."""
        return [self.version.html[path] for path in feedback_paths(self.question, self.answer.response if self.answer
                                                                   else None) if path in self.version.html]

    @property
    def right_answer(self) -> str:
        return right_answer(self.question, self.version.html)


def _attempt(item_id: int, number: int) -> QuizAttempt:
    enrollment_id = g.course_access.enrollment_id
    attempt = get_db().scalar(services.ATTEMPT_BY_NUMBER,
                              {"enrollment_id": enrollment_id, "item_id": item_id, "number": number})
    if attempt is None:
        abort(404)
    return attempt


def feedback_visible(settings: dict, attempt: QuizAttempt, answer: AttemptAnswer | None) -> bool:
    """Whether correctness, feedback and the right answers may be shown for this answer now."""
    when = settings.get("feedback", "after_submit")
    if when == "never":
        return False
    if when == "immediately":
        return attempt.state == "submitted" or (answer is not None and answer.checked_at is not None)
    if when == "after_pass":
        return attempt.state == "submitted" and bool(attempt.passed)
    return attempt.state == "submitted"


def _lessons_for(outline: catalog.Outline, quiz_item: catalog.OutlineItem,
                 slug: str | None) -> tuple[catalog.OutlineItem, ...]:
    """The lessons a question points to: the one its lesson= names (in the quiz's own module first, then
    anywhere in the course), else every lesson of the quiz's module."""
    if not slug:
        return tuple(i for i in outline.items if i.kind == "lesson" and i.module_slug == quiz_item.module_slug)
    lessons = [i for i in outline.items if i.kind == "lesson" and i.slug == slug]
    named = next((i for i in lessons if i.module_slug == quiz_item.module_slug), lessons[0] if lessons else None)
    return (named,) if named else ()


def lessons_to_study(views: list[QuestionView]) -> list[catalog.OutlineItem]:
    """The lessons behind the missed questions of a submitted attempt, each once, in course order."""
    found = {lesson.id: lesson for view in views if view.missed for lesson in view.lessons}
    return sorted(found.values(), key=lambda lesson: tuple(int(n) for n in lesson.number.split(".")))


def _question_views(attempt: QuizAttempt, settings: dict, outline: catalog.Outline,
                    quiz_item: catalog.OutlineItem) -> list[QuestionView]:
    db = get_db()
    records = services.question_records(db, [entry["question_id"] for entry in attempt.layout])
    answers = services.answers_of(db, attempt.id)
    views = []
    for number, entry in enumerate(attempt.layout, start=1):
        version = records[entry["question_id"]]
        question = version.question
        answer = answers.get(version.id)
        final = attempt.state == "submitted" or (answer is not None and answer.checked_at is not None)
        views.append(QuestionView(number, version, question, entry["order"], answer,
                                  displayed(question, entry["order"], answer.response if answer else None), final,
                                  feedback_visible(settings, attempt, answer),
                                  _lessons_for(outline, quiz_item, question.lesson)))
    return views


@bp.route(QUIZ_PATH + "/attempts/<int:number>", methods=["GET", "POST"])
@access("enrolled")
def attempt_page(course_slug: str, module_slug: str, item_slug: str, number: int):
    outline, item = _quiz_item(module_slug, item_slug)
    db = get_db()
    attempt = _attempt(item.id, number)
    quiz = services.get_quiz(db, item.id, g.course_access.content_hash)
    now = utcnow()
    if attempt.state == "open" and services.expired(attempt, now):
        services.submit_attempt(db, attempt.id, now, quiz)
        db.commit()
        flash("Time is up: your saved answers were submitted.", "info")
    if request.method == "POST":
        return _act(item, attempt, quiz, now)
    views = _question_views(attempt, quiz.settings, outline, item)
    template = "quizzes/attempt.html" if attempt.state == "open" else "quizzes/review.html"
    seconds_left = max(0, int((attempt.deadline - now).total_seconds())) if attempt.deadline else None
    visible = feedback_visible(quiz.settings, attempt, None)
    # After a failed attempt, where to go next: shown with the feedback, and always after a placement
    # quiz (its point is to tell the learner what to study).
    study = lessons_to_study(views) if attempt.state == "submitted" and not attempt.passed and not attempt.pending \
        and (visible or item.quiz_role == "placement") else []
    return render_template(template, outline=outline, item=item, attempt=attempt, quiz=quiz, questions=views,
                           seconds_left=seconds_left, feedback_visible=visible, render_cloze=render_cloze,
                           study=study)


def _collect(attempt: QuizAttempt) -> dict[int, object]:
    records = services.question_records(get_db(), [entry["question_id"] for entry in attempt.layout])
    responses = {}
    for entry in attempt.layout:
        record = records[entry["question_id"]]
        value = parse_response(record.question, record.id, entry["order"], request.form)
        if value is not UNSET:
            responses[record.id] = value
    return responses


def _act(item: catalog.OutlineItem, attempt: QuizAttempt, quiz: services.QuizInfo, now):
    db = get_db()  # (CSRF is checked for every POST by CSRFProtect)
    url = f"{item.url}/attempts/{attempt.number}"
    action = request.form.get("action", "save")
    try:
        if action == "submit":
            if services.expired(attempt, now):  # too late for these answers: the saved ones count
                services.submit_attempt(db, attempt.id, now, quiz)
                raise services.AttemptClosed("Time is up: your saved answers were submitted.")
            if attempt.state != "open":
                raise services.AttemptClosed("This attempt has already been submitted.")
            services.submit_attempt(db, attempt.id, now, quiz, _collect(attempt))
            db.commit()
            return redirect(url)
        services.save_responses(db, attempt, _collect(attempt), now)
        if action.startswith("check:") and action[6:].isdigit():
            services.check_answer(db, attempt, int(action[6:]), now)
            db.commit()
            return redirect(f"{url}#question-{action[6:]}")
        db.commit()
        flash("Your answers are saved.", "success")
        return redirect(url)
    except services.AttemptClosed as exc:
        db.commit()
        flash(exc.message, "info")
        return redirect(url)


@bp.route(QUIZ_PATH + "/attempts/<int:number>/autosave", methods=["POST"])
@access("enrolled")
def autosave(course_slug: str, module_slug: str, item_slug: str, number: int):
    """Saves answers as the learner goes (quiz.js); the form's own Save button does the same."""
    _outline, item = _quiz_item(module_slug, item_slug)
    db = get_db()
    attempt = _attempt(item.id, number)
    try:
        saved = services.save_responses(db, attempt, _collect(attempt), utcnow())
    except services.AttemptClosed as exc:
        db.commit()
        return jsonify(saved=0, closed=True, message=exc.message), 409
    db.commit()
    return jsonify(saved=saved, closed=False)


# -- feedback and right answers --------------------------------------------------------------------

def feedback_paths(question: Question, response) -> list[str]:
    """Where, in the question's rendered texts, the feedback for this response is."""
    try:
        if question.type == "single" and isinstance(response, int):
            return [f"choices.{response}.feedback"]
        if question.type == "multi" and isinstance(response, list):
            return [f"choices.{i}.feedback" for i in response]
        if question.type == "truefalse" and isinstance(response, bool):
            return ["feedback_true" if response else "feedback_false"]
        if question.type == "short" and isinstance(response, str):
            matched = match_text(question.answers, response, question.case_sensitive)
            return [f"answers.{question.answers.index(matched)}.feedback"] if matched else []
        if question.type == "numerical" and isinstance(response, str):
            value = parse_number(response)
            index = next((n for n, a in enumerate(question.answers) if numeric_matches(a, value)), None)
            return [] if index is None else [f"answers.{index}.feedback"]
    except (ValueError, TypeError):
        return []
    return []


def _plain(html: str) -> str:
    return Markup(html).striptags()


def right_answer(question: Question, html: dict) -> str:
    """The right answer in words, for the review (shown only when feedback may be shown)."""
    kind = question.type
    if kind in ("single", "multi"):
        right = [_plain(html.get(f"choices.{n}.text", c.text.text)) for n, c in enumerate(question.choices)
                 if c.fraction > 0]
        return "; ".join(right)
    if kind == "truefalse":
        return "True" if question.answer else "False"
    if kind == "short":
        best = max((a for a in question.answers if not a.regex and a.text != "*"), key=lambda a: a.fraction,
                   default=None)
        return best.text if best else ""
    if kind == "numerical":
        best = max((a for a in question.answers if not a.is_catch_all), key=lambda a: a.fraction, default=None)
        if best is None:
            return ""
        if best.low is not None:
            return f"from {best.low:g} to {best.high:g}"
        return f"{best.value:g}" + (f" (± {best.tolerance:g})" if best.tolerance else "")
    if kind == "matching":
        return "; ".join(f"{_plain(html.get(f'pairs.{n}.prompt', p.prompt.text))} → {p.answer}"
                         for n, p in enumerate(question.pairs) if p.prompt.text.strip())
    if kind == "ordering":
        return " → ".join(_plain(html.get(f"items.{n}", i.text)) for n, i in enumerate(question.items))
    if kind == "cloze":
        parts = []
        for n, gap in enumerate(question.gaps, start=1):
            if gap.kind == "select":
                parts.append(f"{n}: " + "; ".join(c.text.text for c in gap.choices if c.fraction >= 1))
            else:
                parts.append(f"{n}: {gap.answers[0].text}" if gap.answers else f"{n}: ")
        return " · ".join(parts)
    return ""


# -- fill-in-the-blanks rendering ------------------------------------------------------------------

_GAP_MARKER = re.compile(r"\[\[(\d+)\]\]")


def render_cloze(view: QuestionView, disabled: bool) -> Markup:
    """The question's stored HTML with each [[n]] replaced by its input or drop-down."""
    question: FillInBlanks = view.question
    html = view.version.html.get("text", "")

    def control(match: re.Match) -> str:
        n = int(match.group(1)) - 1
        if n >= len(question.gaps):
            return match.group(0)
        gap = question.gaps[n]
        name = field_name(view.version.id, f"g{n}")
        current = view.shown.get(f"g{n}", "")
        label = f"Blank {n + 1}"
        off = " disabled" if disabled else ""
        if gap.kind == "select":
            options = ['<option value="">Choose…</option>']
            for position, original in enumerate(view.order[n]):
                text = view.version.html.get(f"gaps.{n}.choices.{original}.text", "")
                selected = " selected" if current == position else ""
                options.append(f'<option value="{position}"{selected}>{escape(Markup(text).striptags())}</option>')
            return f'<select name="{name}" aria-label="{label}" class="gap"{off}>{"".join(options)}</select>'
        return (f'<input type="text" name="{name}" value="{escape(current)}" aria-label="{label}" class="gap" '
                f'autocomplete="off" spellcheck="false"{off}>')

    return Markup(_GAP_MARKER.sub(control, html))  # noqa: S704 - html is sanitized at sync; controls escaped


# -- instructors: item analysis --------------------------------------------------------------------

@bp.route(QUIZ_PATH + "/analysis")
@access("course_instructor")
def analysis(course_slug: str, module_slug: str, item_slug: str):
    outline, item = _quiz_item(module_slug, item_slug)
    stats = quiz_statistics(get_db(), item.id)
    return render_template("quizzes/analysis.html", outline=outline, item=item, stats=stats)


@bp.route(QUIZ_PATH + "/analysis.csv")
@access("course_instructor")
def analysis_csv(course_slug: str, module_slug: str, item_slug: str):
    _outline, item = _quiz_item(module_slug, item_slug)
    body = to_csv(quiz_statistics(get_db(), item.id))
    filename = f"{course_slug}-{module_slug}-{item_slug}-item-analysis.csv"
    return body, 200, {"Content-Type": "text/csv; charset=utf-8",
                       "Content-Disposition": f'attachment; filename="{filename}"'}


# -- graders: essays waiting for a score ------------------------------------------------------------

@bp.route("/courses/<course_slug>/essays")
@access("course_grader")
def essays(course_slug: str):
    essays_ = services.pending_essays(get_db(), g.course_access.course_id)
    return render_template("quizzes/essays.html", course_slug=course_slug, essays=essays_)


@bp.route("/courses/<course_slug>/essays/<int:answer_id>", methods=["POST"])
@access("course_grader")
def grade_essay(course_slug: str, answer_id: int):
    db = get_db()
    raw = request.form.get("points", "").strip().replace(",", ".")
    try:
        points = float(raw)
    except ValueError:
        flash("Enter the points as a number, e.g. 3 or 2.5.", "error")
        return redirect(f"/courses/{course_slug}/essays#answer-{answer_id}")
    try:
        services.grade_essay(db, answer_id, g.course_access.course_id, current_user.id, points,
                             request.form.get("comment", ""), utcnow())
        db.commit()
        flash("Graded.", "success")
    except DomainError as exc:
        db.rollback()
        flash(exc.message, "error")
    return redirect(f"/courses/{course_slug}/essays")
