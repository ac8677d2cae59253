"""/pathways/<slug>: public; a logged-in learner also sees what they hold and what is missing."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from lms.catalog import services as catalog
from lms.credentials.pathways import pathway_progress
from lms.db import get_db
from lms.security import access

bp = Blueprint("pathways", __name__, template_folder="templates")


@bp.route("/pathways/<pathway_slug>")  # lms.content.specs.PATHWAY_PATH (tests check that they agree)
@access("public")
def pathway(pathway_slug: str):
    db = get_db()
    card = catalog.get_pathway(db, pathway_slug)
    progress = None
    if current_user.is_authenticated:
        progress = next(iter(pathway_progress(db, current_user.id, slug=pathway_slug)), None)
    held = {course.slug for course in progress.courses if course.held} if progress else set()
    return render_template("pathways/pathway.html", pathway=card, progress=progress, held=held)
