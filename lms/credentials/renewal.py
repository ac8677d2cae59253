"""Renewing an expiring credential: pass the course's recertification again, get a new credential.

A holder may renew from RENEWAL_WINDOW (90 days) before the credential's ``valid_until``, and after it
has expired, as long as it is neither revoked nor already renewed. How is the course's
``recertify_by``: a quiz with ``role: recertification`` (``quiz``), or the capstone passed again
(``capstone``: ``start_capstone_renewal`` opens a new capstone round, then grading it decides).

A renewal happens in the transaction of the pass (lms/credentials/events.py calls ``renew`` on
``quiz_submitted`` and ``capstone_graded``) and follows decision 0012: the old credential is marked
superseded with a conditional UPDATE (so of two racing renewals one goes through; the other answers
with the winner's credential), the new one is issued through the issuance service from the
achievement's live version, and the old one is linked to it. The ``uq_credentials_current`` index
never sees two current rows. The new credential is valid from the renewal, for the course's
``valid_for_months`` (the issuance service decides validity; what was left of the old one is not added).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.capstones import services as capstones
from lms.capstones.models import Submission
from lms.capstones.paths import capstone_path
from lms.catalog.models import Course, Item, Module
from lms.content.specs import LESSON_PATH
from lms.credentials.eligibility import live_achievement
from lms.credentials.held import HeldCredential, held_credentials
from lms.credentials.issuance import current_credential, settings_of, signing_issuer, supersede
from lms.credentials.keystore import NoIssuerKey
from lms.credentials.models import Achievement, AchievementVersion, Credential
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.errors import Conflict
from lms.quizzes.models import QuizConfig

log = logging.getLogger(__name__)

RENEWAL_WINDOW = timedelta(days=90)
RENEWAL_METHODS = ("quiz", "capstone")


class NotRenewable(Conflict):
    """The credential cannot be renewed now; the message says why and, when it can be later, from when."""


@dataclass(frozen=True)
class RenewalRoute:
    """How a course's credential is renewed: the recertification quiz to pass, or the capstone to pass again."""

    by: str  # "quiz" or "capstone"
    item_id: int
    title: str
    path: str  # the quiz's or the capstone's page on this site


@dataclass(frozen=True)
class RenewalStatus:
    """Whether a learner's credential of a course can be renewed now, from when, and how.

    ``state``: "not_held" (no current credential), "permanent" (it never expires), "not_yet" (the
    window opens at ``opens_at``), "open" (renewable, not expired yet), "expired" (renewable, expired),
    "unavailable" (in the window, but the course no longer offers a way to renew: retired, or its
    recertification quiz or capstone removed).
    """

    state: str
    course_slug: str | None = None
    credential_id: int | None = None
    public_id: str | None = None
    valid_until: datetime | None = None
    opens_at: datetime | None = None
    route: RenewalRoute | None = None

    @property
    def renewable(self) -> bool:
        return self.state in ("open", "expired")

    @property
    def course_path(self) -> str | None:
        return f"/courses/{self.course_slug}" if self.course_slug else None

    @property
    def message(self) -> str:
        """What the learner reads, in their words."""
        if self.state == "not_held":
            return "You hold no credential of this course to renew."
        if self.state == "permanent":
            return "Your credential does not expire."
        if self.state == "unavailable":
            return "This course no longer offers a way to renew its credential."
        when = long_date(self.valid_until)
        if self.state == "not_yet":
            return f"Your credential is valid until {when}. You can renew it from {long_date(self.opens_at)}."
        how = route_instructions(self.route)
        if self.state == "expired":
            return f"Your credential expired on {when}. To renew it, {how}."
        return f"Your credential expires on {when}. To renew it, {how}."


def long_date(moment: datetime) -> str:
    """"3 March 2027": the date as the learner reads it (UTC)."""
    return f"{moment.day} {moment:%B %Y}"


def route_instructions(route: RenewalRoute) -> str:
    """What to do, as an instruction: "pass the recertification quiz “Check”"."""
    if route.by == "quiz":
        return f"pass the recertification quiz “{route.title}”"
    return (f"pass the capstone project “{route.title}” again (start a recertification submission; a grader "
            "reviews it like a first hand-in)")


def window_opens(valid_until: datetime) -> datetime:
    return valid_until - RENEWAL_WINDOW


# -- how each course renews --------------------------------------------------------------------------

def renewal_routes(db: Session, course_ids: Iterable[int]) -> dict[int, RenewalRoute | None]:
    """Each course's way to renew (None: none, e.g. the course or its credential was retired), in two
    statements however many courses: the expiry reminders ask for a whole batch at once."""
    course_ids = list(set(course_ids))
    if not course_ids:
        return {}
    methods = {course_id: method for course_id, method in db.execute(
        select(Achievement.course_id, AchievementVersion.spec["recertify_by"].as_string())
        .join(AchievementVersion, and_(AchievementVersion.achievement_id == Achievement.id,
                                       AchievementVersion.retired_at.is_(None)))
        .join(Course, Course.id == Achievement.course_id)
        .where(Achievement.course_id.in_(course_ids), Achievement.retired_at.is_(None),
               Course.retired_at.is_(None)))}
    found: dict[int, dict[str, RenewalRoute]] = {}
    for course_id, course_slug, item_id, kind, title, slug, module_slug in db.execute(
            select(Item.course_id, Course.slug, Item.id, Item.kind, Item.title, Item.slug, Module.slug)
            .join(Course, Course.id == Item.course_id)
            .outerjoin(Module, Module.id == Item.module_id)
            .outerjoin(QuizConfig, QuizConfig.item_id == Item.id)
            .where(Item.course_id.in_(list(methods)), Item.retired_at.is_(None),
                   or_(Module.id.is_(None), Module.retired_at.is_(None)),
                   or_(Item.kind == "capstone", and_(Item.kind == "quiz", QuizConfig.role == "recertification")))
            .order_by(Item.course_id, Module.position, Item.position)):
        by = "capstone" if kind == "capstone" else "quiz"
        path = capstone_path(course_slug) if by == "capstone" else LESSON_PATH.format(
            course=course_slug, module=module_slug, item=slug)
        found.setdefault(course_id, {}).setdefault(by, RenewalRoute(by, item_id, title, path))  # the first in order
    routes: dict[int, RenewalRoute | None] = {course_id: None for course_id in course_ids}
    for course_id, named in methods.items():
        offered = found.get(course_id, {})
        # A course that stopped expiring names no method: its holders renew the way course.yml's default
        # would (a recertification quiz if there is one, else the capstone).
        routes[course_id] = offered.get(named or ("quiz" if "quiz" in offered else "capstone"))
    return routes


# -- a learner's renewal -----------------------------------------------------------------------------

def renewal_status(db: Session, user_id: int, course_id: int, now: datetime) -> RenewalStatus:
    """Whether the learner's credential of this course is renewable now, from when, and how (for the
    dashboard and the course page). At most three statements."""
    return renewal_statuses(db, user_id, [course_id], now)[course_id]


def renewal_statuses(db: Session, user_id: int, course_ids: Iterable[int], now: datetime, *,
                     held: list[HeldCredential] | None = None) -> dict[int, RenewalStatus]:
    """``renewal_status`` of each course, in at most three statements however many courses (the
    dashboard asks for all of a learner's courses at once; two when it passes the ``held`` it read)."""
    course_ids = list(dict.fromkeys(course_ids))
    if held is None:
        held = held_credentials(db, user_id) if course_ids else []
    wanted = set(course_ids)
    current = {h.course_id: h for h in held if h.current and h.course_id in wanted}
    in_window = [c for c, h in current.items() if h.valid_until is not None and now >= window_opens(h.valid_until)]
    routes = renewal_routes(db, in_window)
    statuses = {}
    for course_id in course_ids:
        if course_id not in current:
            statuses[course_id] = RenewalStatus("not_held")
            continue
        credential = current[course_id]
        valid_until = credential.valid_until
        known = {"course_slug": credential.course_slug, "credential_id": credential.id,
                 "public_id": credential.public_id, "valid_until": valid_until}
        if valid_until is None:
            statuses[course_id] = RenewalStatus("permanent", **known)
        elif course_id not in routes:
            statuses[course_id] = RenewalStatus("not_yet", opens_at=window_opens(valid_until), **known)
        elif routes[course_id] is None:
            statuses[course_id] = RenewalStatus("unavailable", opens_at=window_opens(valid_until), **known)
        else:
            statuses[course_id] = RenewalStatus("expired" if now >= valid_until else "open",
                                                opens_at=window_opens(valid_until), route=routes[course_id],
                                                **known)
    return statuses


def start_capstone_renewal(db: Session, user_id: int, course_id: int, now: datetime | None = None) -> Submission:
    """Start a recertification submission of the capstone: a new, empty draft graded as a first hand-in.

    Only for a holder inside the renewal window of a course that renews by capstone (NotRenewable
    otherwise, saying why); passing it renews the credential (``renew``, when it is graded).
    """
    now = now or utcnow()
    status = renewal_status(db, user_id, course_id, now)
    if not status.renewable:
        raise NotRenewable(status.message)
    if status.route.by != "capstone":
        raise NotRenewable(f"This course renews its credential by a quiz, not the capstone: "
                           f"{route_instructions(status.route)}.")
    enrollment_id = db.scalar(select(Enrollment.id).where(Enrollment.user_id == user_id,
                                                          Enrollment.course_id == course_id))
    if enrollment_id is None:
        raise NotRenewable("Enrol in the course again to renew your credential by its capstone.")
    return capstones.start_over(db, enrollment_id, capstones.live_capstone(db, course_id), now)


def renew(db: Session, user_id: int, course_id: int, by: str, passed_at: datetime, now: datetime,
          **evidence: int) -> Credential | None:
    """Renew the learner's credential after they passed the course's recertification (``by``) at
    ``passed_at``; returns the new credential, or None when the pass renews nothing.

    A pass renews only the current credential it could renew when it was made: inside the window
    and after the credential was issued (the pass that earned a short-lived credential does not
    also renew it). ``evidence`` (ids only: ``quiz_attempt_id=``, ``submission_id=``) goes to the audit log.
    """
    if by not in RENEWAL_METHODS:
        raise ValueError(f"a credential is renewed by one of {', '.join(RENEWAL_METHODS)}, not {by!r}")
    live = live_achievement(db, course_id)
    if live is None:
        return None  # the course no longer awards it: nothing to renew into
    achievement_id, version_id, _spec = live
    old = current_credential(db, user_id, achievement_id)
    if old is None or old.valid_until is None or passed_at < window_opens(old.valid_until) \
            or passed_at <= old.issued_at:
        # Outside the window a recertification pass changes no credential: renewing early would reset
        # the expiry at will, and the window is what the reminders and the dashboard promise.
        return None
    route = renewal_routes(db, [course_id])[course_id]
    if route is None or route.by != by:
        return None  # (a recertification quiz in a course that renews by capstone, or the reverse)
    try:
        issuer = signing_issuer(settings_of(db))
    except NoIssuerKey as exc:
        log.error("renewal of credential %s of user %s not issued: %s", old.id, user_id, exc)
        return None
    new = supersede(db, issuer, old.id, user_id, achievement_id, version_id, now)
    if new is None:
        # Another renewal (or a revocation) changed it first: answer with whatever is current now.
        return current_credential(db, user_id, achievement_id)
    new.public = old.public  # the holder's choice about the public page carries over
    db.flush()
    audit.record(db, "credential.renewed", "credential", new.id, user_id, superseded=old.id, by=by,
                 achievement_version=version_id, **evidence)
    return new
