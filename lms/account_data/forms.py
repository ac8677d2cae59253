"""Forms of the account pages: the password again for export and deletion, and a typed confirmation."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from lms.account_data.services import CONFIRMATION


def _password_field() -> PasswordField:
    return PasswordField("Your password", validators=[DataRequired("Enter your password to continue.")],
                         render_kw={"autocomplete": "current-password"},
                         description="We ask for it again because this concerns all your data.")


class ExportForm(FlaskForm):
    password = _password_field()


class DeleteForm(FlaskForm):
    password = _password_field()
    confirmation = StringField(
        f"Type “{CONFIRMATION}” to confirm",
        filters=[lambda v: " ".join(v.split()).lower() if isinstance(v, str) else v],
        validators=[DataRequired(f"Type “{CONFIRMATION}” in this box to confirm.")],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"})

    def validate_confirmation(self, field):
        if field.data != CONFIRMATION:
            from wtforms.validators import ValidationError  # noqa: PLC0415

            raise ValidationError(f"Type exactly “{CONFIRMATION}” (without the quotes) to confirm; "
                                  "nothing was deleted.")
