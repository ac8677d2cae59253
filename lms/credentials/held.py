"""The credentials a learner holds: one statement, read by the dashboard, pathways and their issuance.

"Held" means not superseded by a renewal; a revoked credential is still listed (its holder sees it
on their dashboard as revoked) but is never *current*: pathways count only current, unexpired ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from lms.catalog.models import Course
from lms.credentials.models import Achievement, AchievementVersion, Credential

# The first sentence of the reason a pathway credential is revoked with when it falls with a course
# credential it rests on (lms.credentials.services.revoke), which it names in ``revoked_with_id``. Such
# a pathway credential is issued again once the learner holds enough course credentials again; one
# revoked for any other reason is not. The text is for people; the column decides.
CASCADE_REASON = "A course credential it rests on was revoked."


@dataclass(frozen=True)
class HeldCredential:
    id: int
    public_id: str
    achievement_id: int
    course_id: int | None  # None: a pathway's credential
    course_slug: str | None
    name: str  # the credential's name, as issued
    issued_at: datetime
    valid_until: datetime | None
    revoked: bool
    fell_with_basis: bool  # revoked only because a course credential it rested on was (revoked_with_id)

    @property
    def current(self) -> bool:
        return not self.revoked

    @property
    def revoked_by_issuer(self) -> bool:
        """Revoked as a decision about this credential itself: never issued again automatically."""
        return self.revoked and not self.fell_with_basis

    def counts(self, now: datetime) -> bool:
        """Current and unexpired: what a pathway rests on."""
        return self.current and (self.valid_until is None or self.valid_until > now)

    def days_left(self, now: datetime) -> int | None:
        return None if self.valid_until is None else (self.valid_until - now).days

    def state(self, now: datetime) -> str:
        if self.revoked:
            return "revoked"
        return "expired" if self.valid_until is not None and self.valid_until <= now else "valid"


# Built once (the dashboard reads it on every view), run on the session's connection.
_HELD_QUERY = (
    select(Credential.id, Credential.public_id, Credential.achievement_id, Achievement.course_id, Course.slug,
           AchievementVersion.spec["name"].as_string(), Credential.issued_at, Credential.valid_until,
           Credential.revoked_at.is_not(None), Credential.revoked_with_id.is_not(None))
    .join(Achievement, Achievement.id == Credential.achievement_id)
    .outerjoin(Course, Course.id == Achievement.course_id)
    .join(AchievementVersion, AchievementVersion.id == Credential.achievement_version_id)
    .where(Credential.user_id == bindparam("user_id"), Credential.superseded_at.is_(None))
    .order_by(Credential.id))


def held_credentials(db: Session, user_id: int) -> list[HeldCredential]:
    """The learner's credentials not superseded by a renewal (revoked ones included), oldest first."""
    db.flush()  # (a Core statement: an issuance in progress must see its own new rows)
    return [HeldCredential(*row) for row in db.connection().execute(_HELD_QUERY, {"user_id": user_id})]
