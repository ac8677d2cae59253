from flask_wtf import FlaskForm


class LessonActionForm(FlaskForm):
    """Mark as done / not done: a button with CSRF protection."""
