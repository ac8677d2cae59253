"""The bench's credentials: real ones, earned by grading capstones of the grader queue's courses.

:func:`issue_and_time` grades ``count`` waiting submissions of the queue (bench.grading) with full
marks through the capstone services, then issues each learner's credential through the issuance
service and times that call alone (eligibility, results, a status bit, the eddsa-rdfc-2022 proof,
the insert): the median is the "time to issue one credential" the closing notes report. The event
that would issue during the grade is held back for the timing, so the issuance is not counted
inside the grade, and then let go. The first credential's public page is what `make bench`
measures: it must be served as stored, never re-signed or re-canonicalized per request.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

CREDENTIALS = 30
FULL_MARKS = {"question": 2, "method": 4, "results": 4, "writing": 2}  # bench.grading's rubric, all top levels


@dataclass(frozen=True)
class CredentialData:
    path: str  # the public page of the first credential
    holder_name: str
    issued: int
    issuance_ms: dict  # median, p90, min, max of one issuance, in milliseconds

    def to_dict(self) -> dict:
        return {"path": self.path, "holder": self.holder_name, "issued": self.issued, "issuance_ms": self.issuance_ms}


def issue_and_time(app, count: int = CREDENTIALS) -> CredentialData:
    from sqlalchemy import select  # noqa: PLC0415

    from bench.grading import GRADER  # noqa: PLC0415
    from lms.auth.models import User  # noqa: PLC0415
    from lms.capstones import services as capstones  # noqa: PLC0415
    from lms.capstones.models import Submission  # noqa: PLC0415
    from lms.credentials import events  # noqa: PLC0415
    from lms.credentials.issuance import issue_if_eligible, signing_issuer  # noqa: PLC0415
    from lms.credentials.keystore import create_key  # noqa: PLC0415
    from lms.db import get_db  # noqa: PLC0415
    from lms.enrollments.models import Enrollment  # noqa: PLC0415
    from lms.enrollments.services import item_completed  # noqa: PLC0415

    settings = app.config["LMS_SETTINGS"]
    create_key(settings.instance_dir)  # production mode creates no key on first use; an operator would
    signing_issuer(settings)
    timings, first = [], None
    with app.app_context():
        db = get_db()
        grader_id = db.scalar(select(User.id).where(User.email == GRADER[0]))
        waiting = db.execute(select(Submission.id, Enrollment.user_id, Enrollment.course_id, User.name)
                             .join(Enrollment, Enrollment.id == Submission.enrollment_id)
                             .join(User, User.id == Enrollment.user_id)
                             .where(Submission.state == "submitted")
                             .order_by(Submission.id).limit(count)).all()
        item_completed.disconnect(events.issue_after_an_assessment_passed)
        try:
            for submission_id, user_id, course_id, name in waiting:
                capstones.claim(db, submission_id, grader_id)
                capstones.grade(db, submission_id, grader_id, capstones.Grading(FULL_MARKS, {}, "Bench review."),
                                can_override=False)
                db.flush()
                started = time.perf_counter()
                credential = issue_if_eligible(db, user_id, course_id)
                timings.append((time.perf_counter() - started) * 1000)
                if credential is None:
                    raise RuntimeError(f"grading submission {submission_id} with full marks earned no credential")
                db.commit()
                first = first or (credential.public_id, name)
        finally:
            item_completed.connect(events.issue_after_an_assessment_passed)
    if first is None:
        raise RuntimeError("the grader queue has no waiting submissions to earn credentials with")
    ordered = sorted(timings)
    return CredentialData(
        path=f"/credentials/{first[0]}", holder_name=first[1], issued=len(timings),
        issuance_ms={"median": round(statistics.median(ordered), 2),
                     "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 2),
                     "min": round(ordered[0], 2), "max": round(ordered[-1], 2)})
