"""Routes of lms/instructor (see the package docstring)."""

from flask import Blueprint

bp = Blueprint("instructor", __name__, template_folder="templates")
