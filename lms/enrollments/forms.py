from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice

TRACK_CHOICES = [
    SelectChoice("credential", "Credential track: lessons, quizzes and the graded capstone, "
                               "ending in a verifiable credential"),
    SelectChoice("audit", "Audit track: all lessons and quizzes, no capstone grading and no credential"),
]


class EnrollForm(FlaskForm):
    track = RadioField("Choose your track", choices=TRACK_CHOICES, default="credential")
