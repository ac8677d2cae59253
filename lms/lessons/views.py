"""The lesson page and its actions. The access rule "enrolled" has already loaded the course,
the learner's enrollment and their last position into ``g.course_access``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for

from lms.catalog import services as catalog
from lms.db import get_db
from lms.enrollments import services as enrollments
from lms.forms import ActionForm
from lms.lessons.outline import outline_html
from lms.security import access

bp = Blueprint("lessons", __name__, template_folder="templates")


@dataclass(frozen=True)
class ItemPage:
    """What a panel for a non-lesson item (a quiz, later a capstone) gets to build its part of the
    item page with."""

    outline: catalog.Outline
    item: catalog.OutlineItem
    enrollment_id: int | None
    completed_ids: set[int]


# Item kinds other than lessons render their own panel on the item page; features register here
# (lms/quizzes/views.py registers "quiz"), so this page does not depend on them.
ITEM_PANELS: dict[str, Callable[[ItemPage], str]] = {}


def _outline() -> catalog.Outline:
    access_ = g.course_access
    return catalog.get_outlines(get_db(), [(access_.course_id, access_.content_hash)])[access_.course_id]


def _step_or_404(outline: catalog.Outline, module_slug: str, item_slug: str) -> catalog.OutlineItem:
    item = outline.find(module_slug, item_slug)
    if item is None:
        abort(404)
    return item


@bp.route("/courses/<course_slug>/<module_slug>/<item_slug>")
@access("enrolled")
def lesson(course_slug: str, module_slug: str, item_slug: str):
    db = get_db()
    access_ = g.course_access
    outline = _outline()
    item = _step_or_404(outline, module_slug, item_slug)
    done_ids = access_.completed_ids
    progress = enrollments.summarize(outline, done_ids, item.id)
    lock = enrollments.item_lock(outline, progress.locks, item) if access_.enrollment_id is not None else None
    outline_markup = outline_html(outline, done_ids, item.id, access_.updated_ids, progress.locks)
    if lock is not None:
        go_to = {m.id: next((step for step in m.steps if step.id not in done_ids), None) for m in lock.waiting_for}
        return render_template("lessons/locked.html", outline=outline, item=item, lock=lock, progress=progress,
                               outline_html=outline_markup, go_to=go_to), 403
    if access_.enrollment_id is not None and item.takeable and access_.last_item_id != item.id:
        enrollments.record_visit(db, access_.enrollment_id, item.id)
        db.commit()
    updated = item.id in access_.updated_ids
    if updated:  # shown once more as updated on this page; read now, so not on the next
        enrollments.mark_reread(db, access_.enrollment_id, item.id)
        db.commit()
    previous_step, next_step = outline.neighbours(item)
    panel = ITEM_PANELS.get(item.kind)
    if panel is not None:
        html = panel(ItemPage(outline, item, access_.enrollment_id, done_ids))
    else:
        html = catalog.get_item_html(db, item.id, outline.content_hash) if item.takeable else ""
    return render_template(
        "lessons/lesson.html", outline=outline, item=item, html=html,
        done_ids=done_ids, previous_step=previous_step, next_step=next_step, progress=progress,
        enrolled=access_.enrollment_id is not None, outline_html=outline_markup, updated=updated,
    )


def lock_of(outline: catalog.Outline, item: catalog.OutlineItem) -> enrollments.ModuleLock | None:
    """What keeps the enrolled learner out of this item (its module's unfinished prerequisites), if anything."""
    access_ = g.course_access
    if access_.enrollment_id is None:
        return None  # course staff preview everything
    locks = enrollments.module_locks(outline, access_.completed_ids)
    return enrollments.item_lock(outline, locks, item)


def locked_message(lock: enrollments.ModuleLock) -> str:
    names = " and ".join(f"“{m.title}”" for m in lock.waiting_for)
    return f"“{lock.module.title}” opens when you complete {names}."


@bp.route("/courses/<course_slug>/<module_slug>/<item_slug>/done", methods=["POST"])
@access("enrolled")
def mark_done(course_slug: str, module_slug: str, item_slug: str):
    """Mark the lesson done and move on to the next step (or back to the course when finished)."""
    access_ = g.course_access
    outline = _outline()
    item = _step_or_404(outline, module_slug, item_slug)
    form = ActionForm()
    if access_.enrollment_id is None or item.kind != "lesson" or not form.validate_on_submit():
        flash("Only a lesson of a course you are enrolled in can be marked as done.", "error")
        return redirect(item.url)
    lock = lock_of(outline, item)
    if lock is not None:
        flash(locked_message(lock), "error")
        return redirect(item.url)
    db = get_db()
    enrollments.complete_item(db, access_.enrollment_id, item.id, "read")
    db.commit()
    done_ids = enrollments.completed_item_ids(db, [access_.enrollment_id])[access_.enrollment_id]
    progress = enrollments.summarize(outline, done_ids, item.id)
    if progress.next_step is None:
        flash("You have finished every lesson in this course. Well done!", "success")
        return redirect(url_for("catalog.course", course_slug=course_slug))
    return redirect(progress.next_step.url)


@bp.route("/courses/<course_slug>/<module_slug>/<item_slug>/undo", methods=["POST"])
@access("enrolled")
def mark_not_done(course_slug: str, module_slug: str, item_slug: str):
    access_ = g.course_access
    item = _step_or_404(_outline(), module_slug, item_slug)
    form = ActionForm()
    if access_.enrollment_id is not None and form.validate_on_submit():
        db = get_db()
        enrollments.uncomplete_item(db, access_.enrollment_id, item.id)
        db.commit()
    return redirect(item.url)


@bp.route("/courses/<course_slug>/continue")
@access("enrolled")
def resume(course_slug: str):
    """Where "Continue" goes: the next unfinished step, starting from the last lesson opened."""
    access_ = g.course_access
    outline = _outline()
    progress = enrollments.summarize(outline, access_.completed_ids, access_.last_item_id)
    target = progress.next_step or outline.by_id(access_.last_item_id) or (outline.steps[0] if outline.steps else None)
    if target is None:
        return redirect(url_for("catalog.course", course_slug=course_slug))
    return redirect(target.url)
