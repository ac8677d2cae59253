"""Credentials tests build on the capstone tests' course (a capstone with a four-criterion rubric)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.capstones import services as capstones
from lms.credentials.models import Credential
from tests.capstones.conftest import FULL_MARKS, capstone_setup, submitted  # noqa: F401 (a fixture, shared)
from tests.credentials.expiring import expiring_course  # noqa: F401 (a fixture: a course whose credential expires)


def grade(db, setup, marks):
    """Submit the learner's capstone and grade it with ``marks`` (full marks issue the credential)."""
    submission = submitted(db, setup)
    capstones.claim(db, submission.id, setup.grader.id)
    capstones.grade(db, submission.id, setup.grader.id, capstones.Grading(marks, {}, "Reviewed."),
                    can_override=False)
    db.commit()
    return submission


@pytest.fixture
def issued(db, capstone_setup):  # noqa: F811 (the fixture imported above)
    """A learner who passed the capstone and holds the course's credential: (setup, credential)."""

    def build(**setup_options):
        setup = capstone_setup(**setup_options)
        grade(db, setup, FULL_MARKS)
        credential = db.scalar(select(Credential).where(Credential.user_id == setup.learner.id))
        assert credential is not None
        return setup, credential

    return build
