"""The email-choices form: one checkbox per kind the user may choose, built from the registry."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField

from lms.notifications.services import NOTIFICATION_KINDS

FIELD_PREFIX = "email_"


class _PreferencesBase(FlaskForm):
    def choices(self) -> dict[str, bool]:
        return {name.removeprefix(FIELD_PREFIX): bool(field.data)
                for name, field in self._fields.items() if name.startswith(FIELD_PREFIX)}


def preferences_form(kinds: list[str], current: dict[str, bool]) -> _PreferencesBase:
    """A form class per request, because which kinds appear depends on the user (grader or not).

    Only these fields are read on submit: a tampered form that adds other names changes nothing.
    """
    fields = {f"{FIELD_PREFIX}{name}": BooleanField(NOTIFICATION_KINDS[name].label, default=current[name])
              for name in kinds}
    form_class = type("PreferencesForm", (_PreferencesBase,), fields)
    return form_class()
