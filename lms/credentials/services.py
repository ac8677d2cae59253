"""What people do with issued credentials: look one up, make it private, revoke it, award one by hand.

HTTP-free: the views parse forms and call these; the caller commits. Permission is checked here as
well as in the routes (a service called from a command or a job gets the same rule). Issuing itself
lives in lms/credentials/issuance.py; a manual award goes through it like every other path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, exists, func, select, update
from sqlalchemy.orm import Session

from lms.audit import services as audit
from lms.auth.models import CourseRole, User
from lms.catalog.models import Course
from lms.credentials import status_list
from lms.credentials.eligibility import course_blockers
from lms.credentials.held import CASCADE_REASON, HeldCredential, held_credentials
from lms.credentials.issuance import (
    _issue,
    current_credential,
    issue_due_pathways,
    publish_status_list,
    settings_of,
    signing_issuer,
)
from lms.credentials.issuer import Issuer
from lms.credentials.keystore import NoIssuerKey
from lms.credentials.models import Achievement, AchievementVersion, Credential, StatusList
from lms.credentials.pathways import LivePathway, live_pathways, pathway_credentials_resting_on, pathway_progress
from lms.errors import Conflict, DomainError, Forbidden, NotFound
from lms.notifications.services import Kind, notify, register_kind

MIN_REASON_LENGTH = 10  # a revocation's reason and a waiver are read later by people who were not there
MAX_REASON_LENGTH = 2000

register_kind("credential_revoked", Kind("When a credential of mine is revoked", email_default=True,
                                         audience="learner"))


class CredentialError(DomainError):
    """A credential action that cannot be done as asked; the message says what to do instead."""


@dataclass(frozen=True)
class CredentialView:
    """One credential with what its public page shows (its state is the database's, checked live).

    ``credential`` is a read-only row with the credential's columns the pages use (``public_id``,
    ``user_id``, ``document``, the dates, ``public``, the revocation), not an ORM object: the public
    page is the hot path, and the ORM's per-row work was a large part of it."""

    credential: Row
    achievement_slug: str
    achievement_kind: str
    course_slug: str | None
    holder_name: str
    # The holder deleted their account: the credential is revoked, its document reduced to what
    # names no one (lms.account_data), and its pages show neither a name nor a download.
    holder_erased: bool = False

    @property
    def document(self) -> dict:
        return self.credential.document

    def state(self, now: datetime) -> str:
        """"revoked", "renewed" (superseded by its renewal), "expired" or "valid"."""
        c = self.credential
        if c.revoked_at is not None:
            return "revoked"
        if c.superseded_at is not None:
            return "renewed"
        if c.valid_until is not None and c.valid_until <= now:
            return "expired"
        return "valid"


_VIEW_COLUMNS = (Credential.id, Credential.public_id, Credential.user_id, Credential.achievement_id,
                 Credential.document, Credential.issued_at, Credential.valid_until, Credential.public,
                 Credential.revoked_at, Credential.revoke_reason, Credential.superseded_at)
# Built once, run on the connection: one statement per view of the public page.
_VIEW_QUERY = (select(*_VIEW_COLUMNS, Achievement.slug.label("achievement_slug"), Achievement.kind,
                      Course.slug.label("course_slug"), User.name, User.deleted_at.label("holder_deleted_at"))
               .join(Achievement, Achievement.id == Credential.achievement_id)
               .outerjoin(Course, Course.id == Achievement.course_id)
               .join(User, User.id == Credential.user_id)
               .where(Credential.public_id == bindparam("public_id")))


def credential_by_public_id(db: Session, public_id: str) -> CredentialView:
    """The credential at /credentials/<public_id>, in one statement; NotFound for an unknown id."""
    row = db.connection().execute(_VIEW_QUERY, {"public_id": public_id}).first()
    if row is None:
        raise NotFound("There is no credential at this address. Check the link you were given.")
    return CredentialView(row, row.achievement_slug, row.kind, row.course_slug, row.name,
                          row.holder_deleted_at is not None)


def can_see(view: CredentialView, viewer_id: int | None, viewer_is_admin: bool) -> bool:
    """A private credential is seen only by its holder (and admins); anyone else gets "not found"."""
    return view.credential.public or viewer_id == view.credential.user_id or viewer_is_admin


def set_public(db: Session, public_id: str, user_id: int, public: bool) -> Credential:
    """The holder shows or hides their credential's public page (the signed document is unchanged)."""
    credential = db.scalar(select(Credential).where(Credential.public_id == public_id))
    if credential is None or credential.user_id != user_id:
        raise NotFound("There is no credential of yours at this address.")
    if credential.public != public:
        credential.public = public
        audit.record(db, "credential.public" if public else "credential.private", "credential", credential.id,
                     user_id)
    return credential


def can_manage(db: Session, user_id: int, is_admin: bool, achievement_id: int) -> bool:
    """Admins manage every credential; a course's instructors manage that course's credentials."""
    if is_admin:
        return True
    return bool(db.scalar(select(exists().where(
        CourseRole.user_id == user_id, CourseRole.role == "instructor",
        CourseRole.course_id == select(Achievement.course_id).where(Achievement.id == achievement_id)
        .scalar_subquery()))))


def _checked_reason(text: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON_LENGTH:
        raise CredentialError(f"Write the {what} in a sentence (at least {MIN_REASON_LENGTH} characters): "
                              "it is kept with the credential for whoever reads it later.")
    if len(text) > MAX_REASON_LENGTH:
        raise CredentialError(f"Keep the {what} under {MAX_REASON_LENGTH} characters.")
    return text


def revoke(db: Session, public_id: str, actor_id: int, actor_is_admin: bool, reason: str,
           now: datetime) -> Credential:
    """Revoke a credential: its status bit flips and the list's credential is re-signed, in this transaction.

    The holder is told, in the app and by email. Revoking is final: a course credential is never
    issued again automatically after it (issuance._held_or_revoked), nor is a pathway credential revoked
    here directly (pathways.due_pathways), so a mistake is put right by an admin's manual award, never
    by un-revoking, since verifiers may have cached the list. (Pathway credentials revoked with a course
    credential, which name it in ``revoked_with_id`` and give the reason CASCADE_REASON, are issued again
    on the credentials that remain, or once the learner holds enough again.)"""
    # Locked and read afresh (populate_existing): two revocations at once, and a stale session, see the truth.
    credential = db.scalar(select(Credential).where(Credential.public_id == public_id).with_for_update()
                           .execution_options(populate_existing=True))
    if credential is None:
        raise NotFound("There is no credential at this address.")
    if not can_manage(db, actor_id, actor_is_admin, credential.achievement_id):
        raise Forbidden("Only the course's instructors and admins can revoke its credentials.")
    revoked = _revoke_one(db, credential, actor_id, reason, now)
    # A pathway credential resting on this one falls with it; with "any N of", the holder may still
    # hold enough others, and is issued a pathway credential on those at once.
    resting = pathway_credentials_resting_on(db, credential)
    for pathway_credential in resting:
        _revoke_one(db, pathway_credential, actor_id,
                    f"{CASCADE_REASON} Reason given: {revoked.revoke_reason}"
                    [:MAX_REASON_LENGTH], now, revoked_with=revoked)
    if resting:
        issue_due_pathways(db, credential.user_id, now)
    return revoked


def _issuer_for(db: Session, consequence: str) -> Issuer:
    """The signing issuer, or the error that tells the admin what to ask an operator for."""
    try:
        return signing_issuer(settings_of(db))
    except NoIssuerKey:
        raise CredentialError(f"The platform has no signing key{consequence}; an operator must run "
                              "`flask credentials keygen` first.") from None


def _revoke_one(db: Session, credential: Credential, actor_id: int, reason: str, now: datetime,
                revoked_with: Credential | None = None) -> Credential:
    if credential.revoked_at is not None:
        raise Conflict(f"This credential was already revoked on {credential.revoked_at:%d %B %Y}.")
    reason = _checked_reason(reason, "reason")
    issuer = _issuer_for(db, ", so the status list cannot be re-signed")
    listing = db.scalar(select(StatusList).where(StatusList.id == credential.status_list_id).with_for_update()
                        .execution_options(populate_existing=True))
    bits = bytearray(listing.bits)
    status_list.set_bit(bits, credential.status_index)
    listing.bits = bytes(bits)
    publish_status_list(db, listing, issuer, settings_of(db), now)
    credential.revoked_at, credential.revoked_by_id, credential.revoke_reason = now, actor_id, reason
    credential.revoked_with_id = revoked_with.id if revoked_with is not None else None
    audit.record(db, "credential.revoke", "credential", credential.id, actor_id)
    name = credential.document["credentialSubject"]["achievement"]["name"]
    notify(db, credential.user_id, "credential_revoked", f"Your credential “{name}” was revoked",
           f"Reason given: {reason}", f"/credentials/{credential.public_id}")
    db.flush()  # (the pathway lookup and re-issuing that follow see this revocation)
    return credential


HOLDER_REQUEST = "holder request"


def erased_document(document: dict) -> dict:
    """What is kept of a signed credential once its holder deleted their account: the credential's id,
    issuer, dates, status entry and the achievement (the course's public definition), without the
    holder's name, hashed email, results, evidence or the proof (which no longer matches)."""
    subject = document.get("credentialSubject", {})
    kept = {key: document[key] for key in ("@context", "id", "type", "issuer", "validFrom", "validUntil",
                                           "credentialStatus", "name") if key in document}
    kept["credentialSubject"] = {"type": subject.get("type", ["AchievementSubject"]),
                                 "achievement": subject.get("achievement", {})}
    kept["erased"] = HOLDER_REQUEST
    return kept


def revoke_for_holder_request(db: Session, user_id: int, now: datetime) -> int:
    """Revoke every credential a learner holds because they deleted their account, in this transaction.

    Each status bit is set and each list re-signed once (so verifiers holding a copy see it revoked),
    with the reason "holder request"; every one of the holder's credentials (also those revoked or
    renewed before) keeps only ``erased_document``. No notification: the account is going. Returns how
    many were revoked now. A fixed number of statements per status list, whatever the count."""
    rows = db.execute(select(Credential.id, Credential.status_list_id, Credential.status_index,
                             Credential.revoked_at, Credential.document)
                      .where(Credential.user_id == user_id).order_by(Credential.id)).all()
    live = [r for r in rows if r.revoked_at is None]
    if live:
        try:
            issuer = signing_issuer(settings_of(db))
        except NoIssuerKey:
            raise CredentialError("The platform has no signing key, so your credentials cannot be revoked; "
                                  "nothing was deleted. Ask an operator to run `flask credentials keygen`.") from None
        for list_id in sorted({r.status_list_id for r in live}):
            listing = db.scalar(select(StatusList).where(StatusList.id == list_id).with_for_update()
                                .execution_options(populate_existing=True))
            bits = bytearray(listing.bits)
            for r in live:
                if r.status_list_id == list_id:
                    status_list.set_bit(bits, r.status_index)
            listing.bits = bytes(bits)
            publish_status_list(db, listing, issuer, settings_of(db), now)
        db.execute(update(Credential).where(Credential.id.in_([r.id for r in live]))
                   .values(revoked_at=now, revoked_by_id=user_id, revoke_reason=HOLDER_REQUEST)
                   .execution_options(synchronize_session=False))
        for r in live:
            audit.record(db, "credential.revoke", "credential", r.id, user_id, reason="holder_request")
    if rows:
        table = Credential.__table__  # (Core: one executemany, whatever the count)
        db.connection().execute(table.update().where(table.c.id == bindparam("cid"))
                                .values(document=bindparam("doc")),
                                [{"cid": r.id, "doc": erased_document(r.document)} for r in rows])
    db.flush()
    return len(live)


@dataclass(frozen=True)
class AwardPreview:
    """Who would receive the course's credential by hand, and which blockers the waiver sets aside."""

    user_id: int
    user_name: str
    course_id: int
    blockers: list[str]


def preview_award(db: Session, actor_is_admin: bool, course_id: int, email: str) -> AwardPreview:
    """Check a manual award before it is made: the learner, and what they have not done yet."""
    user = _award_recipient(db, actor_is_admin, email)
    eligibility = course_blockers(db, user.id, course_id)
    if eligibility.achievement_id is None:
        raise CredentialError("This course awards no credential (course.yml says `credential: false`).")
    if current_credential(db, user.id, eligibility.achievement_id) is not None:
        raise Conflict(f"{user.name} already holds this course's credential.")
    return AwardPreview(user.id, user.name, course_id, [b.message for b in eligibility.blockers])


def award_manually(db: Session, actor_id: int, actor_is_admin: bool, course_id: int, email: str, waiver: str,
                   now: datetime) -> Credential:
    """An admin awards the course's credential, with a written waiver of the learner's blockers (audited).

    The credential is issued by the same service as every other path, so it is signed, takes a status
    bit, and keeps the results the learner does have."""
    preview = preview_award(db, actor_is_admin, course_id, email)
    waiver = _checked_reason(waiver, "waiver")
    eligibility = course_blockers(db, preview.user_id, course_id)
    issuer = _issuer_for(db, "")
    credential = _issue(db, issuer, preview.user_id, eligibility.achievement_id, eligibility.achievement_version_id,
                        now, awarded_by_id=actor_id, waiver=waiver)
    if credential.awarded_by_id != actor_id:
        raise Conflict(f"{preview.user_name} received this credential a moment ago; nothing was awarded twice.")
    # Blocker texts say what was waived without personal details ("Pass the Module 3 quiz").
    audit.record(db, "credential.award", "credential", credential.id, actor_id, waived=preview.blockers)
    return credential


def _award_recipient(db: Session, actor_is_admin: bool, email: str) -> User:
    if not actor_is_admin:
        raise Forbidden("Only admins can award a credential by hand.")
    email = (email or "").strip()
    user = db.scalar(select(User).where(func.lower(User.email) == email.lower(), User.deleted_at.is_(None))) \
        if email else None
    if user is None:
        raise CredentialError(f"No account uses the address “{email}”. Check it, or ask the learner to sign up."
                              if email else "Enter the learner's email address.")
    return user


@dataclass(frozen=True)
class PathwayAwardPreview:
    """Who would receive a pathway's credential by hand, what the waiver sets aside, and the learner's
    earlier credential of the pathway that an admin revoked, if any (the usual reason for this award:
    such a credential is never issued again automatically)."""

    user_id: int
    user_name: str
    pathway: LivePathway
    blockers: list[str]
    revoked: HeldCredential | None


def preview_pathway_award(db: Session, actor_is_admin: bool, pathway_slug: str, email: str,
                          now: datetime) -> PathwayAwardPreview:
    """Check a manual award of a pathway's credential before it is made."""
    user = _award_recipient(db, actor_is_admin, email)
    pathway = next(iter(live_pathways(db, pathway_slug)), None)
    if pathway is None:
        raise NotFound("There is no pathway at this address that can be earned now.")
    held = held_credentials(db, user.id)  # (read once: the progress, the check and the revoked one)
    if any(c.achievement_id == pathway.achievement_id and c.current for c in held):
        raise Conflict(f"{user.name} already holds this pathway's credential.")
    [progress] = pathway_progress(db, user.id, now, slug=pathway_slug, held=held)
    blockers = []
    if progress.still_needed:
        missing = ", ".join(f"“{course.title}”" for course in progress.missing)
        if progress.requires_all:
            blockers.append(f"Hold the credential{'s' if len(progress.missing) > 1 else ''} of {missing}")
        else:
            blockers.append(f"Hold {progress.still_needed} more course credential"
                            f"{'s' if progress.still_needed > 1 else ''} of {missing}")
    revoked = next((c for c in reversed(held)
                    if c.achievement_id == pathway.achievement_id and c.revoked_by_issuer), None)
    return PathwayAwardPreview(user.id, user.name, pathway, blockers, revoked)


def award_pathway_manually(db: Session, actor_id: int, actor_is_admin: bool, pathway_slug: str, email: str,
                           waiver: str, now: datetime) -> Credential:
    """An admin awards a pathway's credential, with a written reason (audited): to put right a mistaken
    revocation, or to waive course credentials the learner does not hold. Issued like every pathway
    credential: it rests on the course credentials the learner holds (its evidence, and its expiry)."""
    preview = preview_pathway_award(db, actor_is_admin, pathway_slug, email, now)
    waiver = _checked_reason(waiver, "waiver")
    issuer = _issuer_for(db, "")
    credential = _issue(db, issuer, preview.user_id, preview.pathway.achievement_id, preview.pathway.version_id,
                        now, awarded_by_id=actor_id, waiver=waiver)
    if credential.awarded_by_id != actor_id:
        raise Conflict(f"{preview.user_name} received this credential a moment ago; nothing was awarded twice.")
    audit.record(db, "credential.award", "credential", credential.id, actor_id, waived=preview.blockers,
                 replaces_revoked=preview.revoked.id if preview.revoked else None)
    return credential


@dataclass(frozen=True)
class IssuedRow:
    public_id: str
    holder_name: str
    holder_email: str
    issued_at: datetime
    valid_until: datetime | None
    state: str
    manual: bool


PAGE_SIZE = 50


def course_credentials(db: Session, course_id: int, now: datetime, page: int = 1,
                       search: str = "") -> tuple[list[IssuedRow], int]:
    """The credentials a course has issued, newest first, a page at a time, and how many match."""
    where = [Achievement.course_id == course_id]
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        where.append(func.lower(User.name).like(pattern) | func.lower(User.email).like(pattern))
    base = (select(Credential.public_id, User.name, User.email, Credential.issued_at, Credential.valid_until,
                   Credential.revoked_at, Credential.superseded_at, Credential.awarded_by_id, User.deleted_at)
            .join(Achievement, Achievement.id == Credential.achievement_id)
            .join(User, User.id == Credential.user_id).where(*where))
    total = db.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.execute(base.order_by(Credential.issued_at.desc(), Credential.id.desc())
                      .limit(PAGE_SIZE).offset((max(page, 1) - 1) * PAGE_SIZE)).all()
    out = []
    for public_id, name, address, issued_at, valid_until, revoked_at, superseded_at, awarded_by, deleted in rows:
        email = "" if deleted else address  # (a deleted holder's row is a tombstone: no address to show)
        state = ("revoked" if revoked_at else "renewed" if superseded_at
                 else "expired" if valid_until is not None and valid_until <= now else "valid")
        out.append(IssuedRow(public_id, name, email, issued_at, valid_until, state, awarded_by is not None))
    return out, total


def achievement_by_slug(db: Session, slug: str) -> tuple[Achievement, AchievementVersion, str | None]:
    """An achievement's live definition and its course's slug (for /achievements/<slug>)."""
    row = db.execute(select(Achievement, AchievementVersion, Course.slug)
                     .join(AchievementVersion, AchievementVersion.achievement_id == Achievement.id)
                     .outerjoin(Course, Course.id == Achievement.course_id)
                     .where(Achievement.slug == slug)
                     .order_by(AchievementVersion.retired_at.is_not(None), AchievementVersion.version.desc())
                     .limit(1)).first()
    if row is None:
        raise NotFound("There is no achievement at this address.")
    return row[0], row[1], row[2]


def own_status_lists(db: Session, public_url: str):
    """A status-list reader for the verify page: lists this platform publishes, read from the database.

    Others are not fetched: a public page that fetches any URL a stranger pastes would let them make
    the server call hosts on its own network. Their revocation is reported as not checked."""
    prefix = f"{public_url}/credentials/status/"

    def read(url: str) -> dict:
        tail = url[len(prefix):] if url.startswith(prefix) else ""
        if not tail.isdigit():
            raise LookupError("this page reads only the status lists this platform publishes; "
                              "check others with the issuer's own verifier")
        document = db.scalar(select(StatusList.document).where(StatusList.id == int(tail)))
        if document is None:
            raise LookupError("this platform has no such status list")
        return document

    return read
