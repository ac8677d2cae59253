"""Routes of lms/spaced_review (see the package docstring)."""

from flask import Blueprint

bp = Blueprint("spaced_review", __name__, template_folder="templates")
