"""Forms shared by features."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button-only form (log out, mark as done, resend a link): CSRF protection and nothing else."""
