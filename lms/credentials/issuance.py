"""Issuing credentials: the one service every path goes through (an event, reconcile, an admin).

It runs inside the caller's transaction: the quiz pass or the capstone grade that removed the last
blocker and the credential it earns commit together, or not at all. The database decides races
(``uq_credentials_current``): when two events issue at once, the loser's insert fails in its
savepoint and it returns the winner's credential. See docs/decisions/0012-credential-issuance.md.

A course credential issued here also issues, in the same transaction, the pathway credentials it
completes (``issue_due_pathways``), whichever path issued it. A pathway credential has no results of
its own: its evidence names the course credentials it rests on. See docs/decisions/0013-pathways.md.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lms.auth.models import User
from lms.capstones.models import Review, Submission
from lms.capstones.services import capstone_version
from lms.catalog.models import Course, Item, Module
from lms.credentials import proof, status_list
from lms.credentials.document import (
    AchievementSpec,
    CredentialContent,
    EvidenceItem,
    IssuerProfile,
    LearnerResult,
    ResultSpec,
    RubricLevel,
    Skill,
    StatusEntry,
    build_credential,
)
from lms.credentials.eligibility import course_blockers
from lms.credentials.held import HeldCredential
from lms.credentials.issuer import Issuer, issuer_from_settings
from lms.credentials.keystore import NoIssuerKey, create_key
from lms.credentials.models import Achievement, AchievementVersion, Credential, StatusList
from lms.credentials.pathways import (
    DuePathway,
    basis_expiry,
    due_pathways,
    live_pathways,
    pathway_basis,
)
from lms.db import utcnow
from lms.enrollments.models import Enrollment
from lms.quizzes.models import QuizAttempt, QuizConfig

log = logging.getLogger(__name__)

# A new status list starts once half the current one's bits are taken, so a random free index is
# found in a few tries (random, so an index says nothing about when a credential was issued).
LIST_FILL_LIMIT = status_list.MIN_ENTRIES // 2
INDEX_TRIES = 20


def settings_of(db: Session):
    settings = db.info.get("settings")
    if settings is None:
        raise RuntimeError("this session has no settings (db.info['settings']); make it with the app's sessionmaker")
    return settings


def signing_issuer(settings) -> Issuer:
    """The issuer, with a key created on first use outside production (like the session secret)."""
    try:
        return issuer_from_settings(settings)
    except NoIssuerKey:
        if settings.is_production:
            raise
        create_key(settings.instance_dir)
        return issuer_from_settings(settings)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    days = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    return moment.replace(year=year, month=month, day=min(moment.day, days[month - 1]))


def current_credential(db: Session, user_id: int, achievement_id: int) -> Credential | None:
    return db.scalar(select(Credential).where(
        Credential.user_id == user_id, Credential.achievement_id == achievement_id,
        Credential.revoked_at.is_(None), Credential.superseded_at.is_(None)))


def _held_or_revoked(db: Session, user_id: int, achievement_id: int) -> bool:
    """Whether the learner holds this achievement's credential or had it revoked. A revocation is an
    issuer's decision (decision 0014): what earned the credential still stands, so issuing again
    automatically would undo it; only an admin's manual award issues after a revocation."""
    return db.scalar(select(select(Credential.id).where(
        Credential.user_id == user_id, Credential.achievement_id == achievement_id,
        Credential.superseded_at.is_(None)).exists())) or False


def issue_if_eligible(db: Session, user_id: int, course_id: int, now: datetime | None = None) -> Credential | None:
    """Issue the course's credential when nothing blocks it and the learner neither holds it nor had it
    revoked; else None."""
    eligibility = course_blockers(db, user_id, course_id)
    if not eligibility.eligible or _held_or_revoked(db, user_id, eligibility.achievement_id):
        return None
    issuer = _issuer_or_log(db, f"credential due to user {user_id} for course {course_id}")
    if issuer is None:
        return None
    return _issue(db, issuer, user_id, eligibility.achievement_id, eligibility.achievement_version_id,
                  now or utcnow())


def _issuer_or_log(db: Session, what: str) -> Issuer | None:
    """The signing issuer; None, logged, in production without a key (the event still commits)."""
    try:
        return signing_issuer(settings_of(db))
    except NoIssuerKey as exc:
        log.error("%s not issued: %s", what, exc)
        return None


def _issue(db: Session, issuer: Issuer, user_id: int, achievement_id: int, version_id: int, now: datetime, *,
           awarded_by_id: int | None = None, waiver: str | None = None) -> Credential:
    """Sign and insert the credential of an achievement version (a course's or a pathway's), and for a
    course's, the pathway credentials it completes. Checks no blocker: callers decide it is due."""
    settings = settings_of(db)
    slug, kind, course_id, spec = db.execute(
        select(Achievement.slug, Achievement.kind, Achievement.course_id, AchievementVersion.spec)
        .join(AchievementVersion, AchievementVersion.achievement_id == Achievement.id)
        .where(AchievementVersion.id == version_id)).one()
    name, email = db.execute(select(User.name, User.email).where(User.id == user_id)).one()
    achievement_url = f"{settings.public_url}/achievements/{slug}"
    if kind == "pathway":
        basis = pathway_basis(db, user_id, spec, now)
        descriptions, results = (), ()
        evidence = tuple(_basis_evidence(settings, held) for held in basis)
        valid_until = basis_expiry(basis)
    else:
        enrollment_id = db.scalar(select(Enrollment.id).where(Enrollment.user_id == user_id,
                                                              Enrollment.course_id == course_id))
        descriptions, results, evidence = _record(db, settings, enrollment_id, course_id, spec, achievement_url)
        valid_until = add_months(now, spec["valid_for_months"]) if spec.get("valid_for_months") else None
    achievement = AchievementSpec(
        id=achievement_url, name=spec["name"], description=spec["description"], criteria=spec["criteria"],
        image_url=spec.get("image_url") and f"{settings.public_url}{spec['image_url']}",
        skills=tuple(Skill(s["name"], s.get("url"), s.get("framework"), s.get("code")) for s in spec["skills"]),
        results=descriptions)
    for _ in range(INDEX_TRIES):
        listing, index = _free_status_bit(db, issuer, settings, now)
        public_id = str(uuid.uuid4())
        content = CredentialContent(
            id=f"{settings.public_url}/credentials/{public_id}",
            issuer=IssuerProfile(issuer.id, settings.issuer_name, settings.public_url),
            achievement=achievement, learner_name=name, learner_email=email, email_salt=secrets.token_hex(8),
            valid_from=now, valid_until=valid_until, results=results, evidence=evidence,
            status=StatusEntry(f"{settings.public_url}/credentials/status/{listing.id}", index))
        document = proof.sign(build_credential(content), issuer.keyring.current.private_key,
                              issuer.verification_method(), now)
        credential = Credential(public_id=public_id, user_id=user_id, achievement_id=achievement_id,
                                achievement_version_id=version_id, document=document, status_list_id=listing.id,
                                status_index=index, issued_at=now, valid_from=now, valid_until=valid_until,
                                awarded_by_id=awarded_by_id, waiver=waiver)
        try:
            with db.begin_nested():
                db.add(credential)
                db.flush()
        except IntegrityError:
            winner = current_credential(db, user_id, achievement_id)
            if winner is not None:
                return winner  # another event issued it first (and the pathways it completes)
            continue  # another credential took the same status bit at the same moment: draw again
        if kind == "course":
            issue_due_pathways(db, user_id, now, issuer=issuer)
        return credential
    raise RuntimeError("no free status list index found; the status lists are full")


def _basis_evidence(settings, held: HeldCredential) -> EvidenceItem:
    """A course credential a pathway credential rests on, named by its URL (where anyone can check it)."""
    until = f", valid until {held.valid_until:%Y-%m-%d}" if held.valid_until else ""
    return EvidenceItem(name=held.name, genre="Course credential",
                        url=f"{settings.public_url}/credentials/{held.public_id}",
                        narrative=f"Issued on {held.issued_at:%Y-%m-%d}{until}.")


def issue_due_pathways(db: Session, user_id: int, now: datetime | None = None, *,
                       issuer: Issuer | None = None) -> list[Credential]:
    """Issue (or renew) each pathway credential the learner's current course credentials now earn.

    Called by ``_issue`` after every course credential, so events, ``reconcile`` and manual awards all
    reach it; two statements when nothing is due. Without a signing key (production) it logs and
    issues nothing: ``reconcile`` issues later."""
    now = now or utcnow()
    due = due_pathways(db, user_id, now)
    if not due:
        return []
    issuer = issuer or _issuer_or_log(db, f"pathway credentials due to user {user_id}")
    if issuer is None:
        return []
    return [_issue_pathway(db, issuer, user_id, pathway, now) for pathway in due]


def _issue_pathway(db: Session, issuer: Issuer, user_id: int, pathway: DuePathway, now: datetime) -> Credential:
    if pathway.replaces is not None:
        renewed = supersede(db, issuer, pathway.replaces, user_id, pathway.achievement_id, pathway.version_id, now)
        if renewed is not None:
            return renewed
        winner = current_credential(db, user_id, pathway.achievement_id)
        if winner is not None:
            return winner  # another event renewed it first
        # (revoked meanwhile: a first credential again, superseding nothing)
    return _issue(db, issuer, user_id, pathway.achievement_id, pathway.version_id, now)


def supersede(db: Session, issuer: Issuer, old_id: int, user_id: int, achievement_id: int, version_id: int,
              now: datetime) -> Credential | None:
    """Renew a current credential in two steps (decision 0012): mark it superseded, issue the new one,
    link the two. None, with nothing changed, when another transaction revoked or renewed it first: the
    conditional UPDATE lets only one of two racing renewals through (PostgreSQL makes the second wait,
    then match no row); the caller decides what that means."""
    marked = db.execute(update(Credential)
                        .where(Credential.id == old_id, Credential.superseded_at.is_(None),
                               Credential.revoked_at.is_(None))
                        .values(superseded_at=now)).rowcount
    if marked != 1:
        return None
    new = _issue(db, issuer, user_id, achievement_id, version_id, now)
    db.execute(update(Credential).where(Credential.id == old_id).values(superseded_by_id=new.id))
    return new


def _free_status_bit(db: Session, issuer: Issuer, settings, now: datetime) -> tuple[StatusList, int]:
    listing = db.scalar(select(StatusList).where(StatusList.purpose == "revocation")
                        .order_by(StatusList.id.desc()).limit(1))
    used = 0 if listing is None else db.scalar(select(func.count(Credential.id))
                                               .where(Credential.status_list_id == listing.id))
    if listing is None or used >= LIST_FILL_LIMIT:
        listing = StatusList(purpose="revocation", entries=status_list.MIN_ENTRIES,
                             bits=bytes(status_list.empty_bitstring()), updated_at=now)
        db.add(listing)
        db.flush()
        publish_status_list(db, listing, issuer, settings, now)
    for _ in range(INDEX_TRIES):
        index = secrets.randbelow(listing.entries)
        taken = db.scalar(select(Credential.id).where(Credential.status_list_id == listing.id,
                                                      Credential.status_index == index))
        if taken is None:
            return listing, index
    raise RuntimeError("no free status list index found after many tries")


def publish_status_list(db: Session, listing: StatusList, issuer: Issuer, settings, now: datetime) -> None:
    """Re-sign the list's credential from its bits (in the same transaction as the change)."""
    url = f"{settings.public_url}/credentials/status/{listing.id}"
    unsigned = status_list.status_list_credential(url, issuer.id, listing.bits, now)
    listing.document = proof.sign(unsigned, issuer.keyring.current.private_key, issuer.verification_method(), now)
    listing.updated_at = now


def _record(db: Session, settings, enrollment_id: int | None, course_id: int, spec: dict, achievement_url: str):
    """The result descriptions, the learner's results and the evidence, from their quizzes and capstone."""
    descriptions: list[ResultSpec] = []
    results: list[LearnerResult] = []
    evidence: list[EvidenceItem] = []
    refs = spec["requires"]["quizzes"]
    if refs:
        best = (select(QuizAttempt.quiz_item_id, func.max(QuizAttempt.points_earned * 100.0
                                                          / QuizAttempt.points_possible).label("percent"))
                .where(QuizAttempt.enrollment_id == enrollment_id, QuizAttempt.passed.is_(True),
                       QuizAttempt.points_possible > 0)
                .group_by(QuizAttempt.quiz_item_id).subquery())
        rows = db.execute(select(Module.slug, Item.slug, Item.title, QuizConfig.settings, best.c.percent,
                                 Module.title)
                          .join(Module, Module.id == Item.module_id)
                          .join(QuizConfig, QuizConfig.item_id == Item.id)
                          .outerjoin(best, best.c.quiz_item_id == Item.id)
                          .where(Item.course_id == course_id, Item.kind == "quiz")).all()
        by_ref = {f"{module}/{item}": (title, quiz_settings, percent)
                  for module, item, title, quiz_settings, percent, _module_title in rows}
        # A module's passed placement quiz: the evidence for its quizzes when the learner tested out.
        placements = {module: (title, quiz_settings, percent, module_title)
                      for module, _item, title, quiz_settings, percent, module_title in rows
                      if quiz_settings.get("role") == "placement" and percent is not None}
        tested_out_modules = set()
        for ref in refs:
            if ref not in by_ref:
                continue
            title, quiz_settings, percent = by_ref[ref]
            result_id = f"{achievement_url}#quiz-{ref.replace('/', '-')}"
            pass_score = quiz_settings.get("pass_score")
            descriptions.append(ResultSpec(result_id, f"Quiz: {title}", "Percent",
                                           required_value=None if pass_score is None else f"{pass_score:g}"))
            if percent is not None:
                results.append(LearnerResult(result_id, value=f"{round(percent):d}"))
            elif spec["requires"].get("test_out") and ref.split("/")[0] in placements:
                tested_out_modules.add(ref.split("/")[0])
        for module in sorted(tested_out_modules):
            title, quiz_settings, percent, module_title = placements[module]
            pass_score = quiz_settings.get("pass_score")
            evidence.append(EvidenceItem(
                name=f"Placement quiz: {title}", genre="Placement test",
                narrative=f"Tested out of the module “{module_title}” with {round(percent):d}% on its placement "
                          f"quiz" + (f" (pass mark {pass_score:g}%)." if pass_score is not None else ".")))
    if spec["requires"]["capstone"] and enrollment_id is not None:
        row = db.execute(select(Submission, Review, Item.title)
                         .join(Review, Review.submission_id == Submission.id)
                         .join(Item, Item.id == Submission.item_id)
                         .where(Submission.enrollment_id == enrollment_id, Submission.state == "passed",
                                Item.course_id == course_id)
                         .order_by(Submission.version.desc()).limit(1)).first()
        if row is not None:
            submission, review, title = row
            capstone = capstone_version(db, review.capstone_version_id)
            total_id = f"{achievement_url}#capstone"
            descriptions.append(ResultSpec(total_id, f"{title}: rubric score", "RubricScore",
                                           required_value=None if capstone.pass_rule.min_points is None
                                           else f"{capstone.pass_rule.min_points:g}"))
            results.append(LearnerResult(total_id, value=f"{review.points:g}"))
            for criterion in capstone.rubric:
                criterion_id = f"{achievement_url}#capstone-{criterion.key}"
                levels = tuple(RubricLevel(f"{criterion_id}-{i}", level.title, level.description, level.points)
                               for i, level in enumerate(criterion.levels))
                required = next((lv.id for lv, src in zip(levels, criterion.levels, strict=True)
                                 if criterion.min_points is not None and src.points >= criterion.min_points), None)
                descriptions.append(ResultSpec(criterion_id, f"{title}: {criterion.title}", "RubricCriterionLevel",
                                               levels=levels, required_level=required))
                scored = review.scores.get(criterion.key)
                achieved = next((lv.id for lv, src in zip(levels, criterion.levels, strict=True)
                                 if scored is not None and src.points == scored), None)
                if achieved:
                    results.append(LearnerResult(criterion_id, achieved_level=achieved))
            shared = f"{settings.public_url}/shared/capstones/{submission.share_token}" if submission.share_token \
                else None
            evidence.append(EvidenceItem(
                name=title, genre="Capstone project", url=shared,
                narrative=f"Version {submission.version}, graded on {review.graded_at:%Y-%m-%d}: "
                          f"{review.points:g} of {review.max_points:g} points against the published rubric."))
    return tuple(descriptions), tuple(results), tuple(evidence)


@dataclass
class ReconcileReport:
    issued: list[tuple[int, str]] = field(default_factory=list)  # (user id, achievement slug)
    still_blocked: int = 0  # learners on the credential track with blockers left
    not_signed: int = 0  # due, but no signing key (production)


def reconcile(db: Session, now: datetime | None = None) -> ReconcileReport:
    """Issue every credential that is due and not held (after a missed event, a key added, a fix)."""
    now = now or utcnow()
    report = ReconcileReport()
    # Held, or revoked: never issued again automatically (see _held_or_revoked).
    held = (select(Credential.id).where(Credential.user_id == Enrollment.user_id,
                                        Credential.achievement_id == Achievement.id,
                                        Credential.superseded_at.is_(None))
            .exists())
    candidates = db.execute(
        select(Enrollment.user_id, Enrollment.course_id, Achievement.slug)
        .join(Achievement, Achievement.course_id == Enrollment.course_id)
        .where(Enrollment.track == "credential", Achievement.retired_at.is_(None), ~held)
        .order_by(Enrollment.id)).all()
    newest_before = db.scalar(select(func.max(Credential.id))) or 0
    for user_id, course_id, slug in candidates:
        eligibility = course_blockers(db, user_id, course_id)
        if not eligibility.eligible:
            report.still_blocked += 1
            continue
        with db.begin_nested():
            credential = issue_if_eligible(db, user_id, course_id, now)
        if credential is None:
            report.not_signed += 1
        else:
            report.issued.append((user_id, slug))
    _reconcile_pathways(db, report, now)
    # The pathway credentials issued along with the course credentials above, and by the sweep.
    report.issued += [tuple(row) for row in db.execute(
        select(Credential.user_id, Achievement.slug).join(Achievement, Achievement.id == Credential.achievement_id)
        .where(Credential.id > newest_before, Achievement.kind == "pathway", Credential.issued_at == now)
        .order_by(Credential.id))]
    return report


def _reconcile_pathways(db: Session, report: ReconcileReport, now: datetime) -> None:
    """Pathway credentials due without a new course credential (a pathway added or changed by a sync, a
    renewal missed): asked of every learner holding a current credential of a course a pathway lists."""
    courses = {course for pathway in live_pathways(db) for course in pathway.courses}
    if not courses:
        return
    holders = db.scalars(
        select(Credential.user_id).distinct()
        .join(Achievement, Achievement.id == Credential.achievement_id)
        .join(Course, Course.id == Achievement.course_id)
        .where(Course.slug.in_(courses), Credential.revoked_at.is_(None), Credential.superseded_at.is_(None))
        .order_by(Credential.user_id)).all()
    issuer: Issuer | None = None
    asked = False  # (for the key once: without one, every due pathway is counted as not signed)
    for user_id in holders:
        due = due_pathways(db, user_id, now)
        if not due:
            continue
        if not asked:
            issuer, asked = _issuer_or_log(db, "pathway credentials due"), True
        if issuer is None:
            report.not_signed += len(due)
            continue
        with db.begin_nested():
            for pathway in due:
                _issue_pathway(db, issuer, user_id, pathway, now)
