"""Admin forms. Choices are offered as lists, but the services check every value themselves (with
messages that say what to choose), so a tampered or stale form gets a clear answer, not a 500."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField

from lms.auth.models import COURSE_ROLES

ROLE_CHOICES = [SelectChoice(role, role.capitalize()) for role in reversed(COURSE_ROLES)]  # grader first


class GrantRoleForm(FlaskForm):
    course = SelectField("Course", validate_choice=False)
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)

    def __init__(self, courses: list[tuple[str, str]], **kwargs):
        super().__init__(**kwargs)
        self.course.choices = [SelectChoice("", "Choose a course")] + [SelectChoice(slug, title)
                                                                      for slug, title in courses]
