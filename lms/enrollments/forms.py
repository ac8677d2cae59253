from flask_wtf import FlaskForm
from wtforms import RadioField

TRACK_CHOICES = [
    ("credential", "Credential track: lessons, quizzes and the graded capstone, ending in a verifiable credential"),
    ("audit", "Audit track: all lessons and quizzes, no capstone grading and no credential"),
]


class EnrollForm(FlaskForm):
    track = RadioField("Choose your track", choices=TRACK_CHOICES, default="credential")
