"""Routes of lms/course_reviews (see the package docstring)."""

from flask import Blueprint

bp = Blueprint("course_reviews", __name__, template_folder="templates")
