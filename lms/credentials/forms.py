"""Credential forms: verifying a credential, revoking one, awarding one by hand. Validators give the
first answer; lms/credentials/services.py re-checks everything that matters."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, TextAreaField
from wtforms.validators import DataRequired, Length

from lms.credentials.services import MAX_REASON_LENGTH, MIN_REASON_LENGTH


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class VerifyForm(FlaskForm):
    document = TextAreaField("Paste the credential", filters=[_strip],
                             description="The credential's JSON, starting with “{”. Or upload its file below.",
                             render_kw={"rows": 8, "spellcheck": "false", "autocapitalize": "none"})
    upload = FileField("Or upload it",
                       description="The .json file the holder downloaded, or their badge image (.png or .svg) "
                                   "with the credential baked in.",
                       render_kw={"accept": ".json,application/json,application/ld+json,.png,image/png,.svg,"
                                            "image/svg+xml"})


_REASON = dict(filters=[_strip], validators=[
    DataRequired("Write the reason."),
    Length(min=MIN_REASON_LENGTH, max=MAX_REASON_LENGTH,
           message=f"Write {MIN_REASON_LENGTH} to {MAX_REASON_LENGTH} characters.")], render_kw={"rows": 4})


class RevokeForm(FlaskForm):
    reason = TextAreaField("Reason", description="Shown on the credential's public page and sent to the holder. "
                                                 "Revoking cannot be undone.", **_REASON)


class AwardForm(FlaskForm):
    email = EmailField("Learner's email", filters=[_strip],
                       validators=[DataRequired("Enter the learner's email address."), Length(max=254)],
                       render_kw={"autocomplete": "off", "inputmode": "email", "spellcheck": "false",
                                  "autocapitalize": "none"})
    waiver = TextAreaField("Waiver", description="Why the requirements the learner has not met are waived (kept in "
                                                 "the audit log, not shown publicly).", **_REASON)
