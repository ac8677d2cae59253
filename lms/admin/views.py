"""Routes of lms/admin (see the package docstring)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")
