"""Account forms. Flask-WTF adds a CSRF token to each; validators give the first, local answer
(services re-check everything that matters)."""

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from lms.auth.passwords import MAX_LENGTH, MIN_LENGTH


def _strip(value):
    return value.strip() if isinstance(value, str) else value


EMAIL_FIELD_ARGS = dict(
    filters=[_strip],
    validators=[DataRequired("Enter your email address."), Email("Enter a valid email address, like name@example.com."),
                Length(max=254)],
    render_kw={"autocomplete": "email", "inputmode": "email", "spellcheck": "false", "autocapitalize": "none"},
)


def _new_password_field(label: str, description: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired("Choose a password."),
                    Length(min=MIN_LENGTH, max=MAX_LENGTH, message=f"Use {MIN_LENGTH} to {MAX_LENGTH} characters.")],
        render_kw={"autocomplete": "new-password"},
        description=description,
    )


class RegisterForm(FlaskForm):
    name = StringField("Full name", filters=[_strip], validators=[DataRequired("Enter your name."), Length(max=120)],
                       render_kw={"autocomplete": "name"},
                       description="As it should appear on your credentials.")
    email = EmailField("Email", **EMAIL_FIELD_ARGS)
    password = _new_password_field(
        "Password", f"At least {MIN_LENGTH} characters. A few unrelated words make a strong password.")
    next = HiddenField()


class LoginForm(FlaskForm):
    email = EmailField("Email", **EMAIL_FIELD_ARGS)
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")],
                             render_kw={"autocomplete": "current-password"})
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", **EMAIL_FIELD_ARGS)


class ResetPasswordForm(FlaskForm):
    password = _new_password_field("New password", f"At least {MIN_LENGTH} characters.")

