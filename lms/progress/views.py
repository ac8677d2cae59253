from flask import Blueprint, render_template
from flask_login import current_user

from lms.db import get_db
from lms.progress import services
from lms.security import access

bp = Blueprint("progress", __name__, template_folder="templates")


@bp.route("/dashboard")
@access("login")
def dashboard():
    cards = services.learner_dashboard(get_db(), current_user.id)
    return render_template("progress/dashboard.html", cards=cards)
