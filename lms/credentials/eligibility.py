"""Eligibility: what still stands between a learner and a course's credential, as a list of blockers.

One service answers it for the dashboard, the course page, issuance and `flask credentials reconcile`:
an empty list means eligible. Each blocker says what to do next, in the learner's words ("Pass the
Module 3 quiz", "Your capstone needs revision"). At most five statements, whatever the course's size
and however many courses are asked about.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.orm import Session, aliased

from lms.auth.models import User
from lms.capstones.models import Submission
from lms.catalog.models import Item, Module
from lms.credentials.models import Achievement, AchievementVersion
from lms.enrollments.models import Enrollment, ItemCompletion


@dataclass(frozen=True)
class Blocker:
    kind: str  # "enroll", "verify_email", "credential_track", "quiz", "capstone"
    message: str
    item_id: int | None = None  # the quiz or capstone to open, when there is one


@dataclass(frozen=True)
class Eligibility:
    achievement_id: int | None  # None: the course awards no credential
    achievement_version_id: int | None
    blockers: tuple[Blocker, ...]

    @property
    def eligible(self) -> bool:
        return self.achievement_id is not None and not self.blockers

    @property
    def messages(self) -> tuple[str, ...]:
        """The blockers in the learner's words, in order."""
        return tuple(b.message for b in self.blockers)


# What a learner reads about their capstone, by the state of its latest version.
_CAPSTONE_BLOCKERS = {
    None: "Submit your capstone project",
    "draft": "Submit your capstone project (your draft is saved)",
    "submitted": "Your capstone is waiting for a grader",
    "in_review": "Your capstone is being reviewed",
    "needs_revision": "Your capstone needs revision: read the feedback and resubmit",
    "not_passed": "Your capstone was not passed",
}


# Built once, with expanding IN parameters: composing these statements would cost more than running
# them (the dashboard asks on every view).
_COURSE_IDS = bindparam("course_ids", expanding=True)
_ENROLLMENT_IDS = bindparam("enrollment_ids", expanding=True)
_ACHIEVEMENTS_QUERY = (
    select(Achievement.course_id, Achievement.id, AchievementVersion.id, AchievementVersion.spec)
    .join(AchievementVersion, and_(AchievementVersion.achievement_id == Achievement.id,
                                   AchievementVersion.retired_at.is_(None)))
    .where(Achievement.course_id.in_(_COURSE_IDS), Achievement.retired_at.is_(None)))
_LEARNER_QUERY = (
    select(Enrollment.course_id, Enrollment.id, Enrollment.track, User.email_verified_at)
    .join(User, User.id == Enrollment.user_id)
    .where(Enrollment.user_id == bindparam("user_id"), Enrollment.course_id.in_(_COURSE_IDS)))
# A quiz item belongs to one course, where the learner has one enrollment: a completion of it by any
# of the learner's enrollments is theirs in that course.
_QUIZZES_QUERY = (
    select(Item.course_id, Module.slug, Item.slug, Item.id, Item.title,
           exists().where(ItemCompletion.enrollment_id.in_(_ENROLLMENT_IDS), ItemCompletion.item_id == Item.id,
                          ItemCompletion.how == "passed"),
           exists().where(ItemCompletion.enrollment_id.in_(_ENROLLMENT_IDS), ItemCompletion.item_id == Item.id,
                          ItemCompletion.how == "tested_out"))
    .join(Module, Module.id == Item.module_id)
    .where(Item.course_id.in_(_COURSE_IDS), Item.kind == "quiz", Item.retired_at.is_(None)))
_other = aliased(Submission)
_LATEST_SUBMISSIONS = (
    select(Submission.item_id, Submission.state)
    .where(Submission.enrollment_id.in_(_ENROLLMENT_IDS),
           Submission.version == select(func.max(_other.version))
           .where(_other.enrollment_id == Submission.enrollment_id, _other.item_id == Submission.item_id)
           .scalar_subquery())
    .subquery())
_CAPSTONES_QUERY = (
    select(Item.course_id, Item.id, _LATEST_SUBMISSIONS.c.state)
    .outerjoin(_LATEST_SUBMISSIONS, _LATEST_SUBMISSIONS.c.item_id == Item.id)
    .where(Item.course_id.in_(_COURSE_IDS), Item.kind == "capstone", Item.retired_at.is_(None))
    .order_by(Item.id))


def live_achievement(db: Session, course_id: int) -> tuple[int, int, dict] | None:
    """The course's achievement id, its live version's id and definition; None when it awards none."""
    return _live_achievements(db, [course_id]).get(course_id)


def _live_achievements(db: Session, course_ids: list[int]) -> dict[int, tuple[int, int, dict]]:
    rows = db.connection().execute(_ACHIEVEMENTS_QUERY, {"course_ids": course_ids}).all()
    return {course_id: (achievement_id, version_id, spec) for course_id, achievement_id, version_id, spec in rows}


def course_blockers(db: Session, user_id: int, course_id: int) -> Eligibility:
    return blockers_by_course(db, user_id, [course_id])[course_id]


def blockers_by_course(db: Session, user_id: int, course_ids: list[int]) -> dict[int, Eligibility]:
    """Each course's blockers for one learner, in at most five statements however many courses (the
    dashboard asks for all of a learner's courses at once)."""
    course_ids = list(dict.fromkeys(course_ids))
    if not course_ids:
        return {}
    # Core statements on the session's connection (the ORM's per-statement overhead is most of the
    # dashboard's time otherwise), after a flush, so an event's own pending changes are seen.
    db.flush()
    achievements = _live_achievements(db, course_ids)
    result = {course_id: Eligibility(None, None, ()) for course_id in course_ids if course_id not in achievements}
    if not achievements:
        return result
    learners = {row[0]: row[1:] for row in db.connection().execute(_LEARNER_QUERY, {"user_id": user_id,
                                                                       "course_ids": list(achievements)})}
    enrolled = {course_id: row[0] for course_id, row in learners.items()}
    quizzes = _quiz_states(db, enrolled, [c for c in enrolled if achievements[c][2]["requires"]["quizzes"]])
    capstones = _capstone_states(db, enrolled, [c for c in enrolled if achievements[c][2]["requires"]["capstone"]])
    for course_id, (achievement_id, version_id, spec) in achievements.items():
        if course_id not in learners:
            result[course_id] = Eligibility(achievement_id, version_id, (Blocker("enroll", "Enrol in the course"),))
            continue
        _enrollment_id, track, verified_at = learners[course_id]
        states = quizzes.get(course_id, {})
        plan = _plan(spec, {ref: (item_id, title) for ref, (item_id, title, _p, _t) in states.items()})
        result[course_id] = Eligibility(achievement_id, version_id, _apply(
            plan, track, verified_at is not None, {state[0] for state in states.values() if state[2]},
            {state[0] for state in states.values() if state[3]}, capstones.get(course_id, (None, None))))
    return result


@dataclass(frozen=True)
class EnrolledCourse:
    """What the dashboard has already read about one of the learner's courses: its enrollment, the
    items the learner passed in it (completions ``how="passed"``) and its outline's quizzes."""

    course_id: int
    content_hash: str  # the course version the caller read (the achievement cache's key)
    enrollment_id: int
    track: str
    passed_ids: set[int]
    quizzes_by_ref: dict  # "module/quiz" -> an outline item (id, title)
    capstone: tuple[int | None, str | None]  # the live capstone's item id, its latest version's state
    tested_out_ids: frozenset[int] = frozenset()  # items completed by testing out of their module


# Course id -> (content hash, its live achievement or None, the rules' plan for it), as the outline cache
# does (decision 0004): an achievement version is written only by a sync, which changes the course's
# content hash, so a process sees a new definition as soon as it reads the new hash. The plan is made of
# the definition and the outline's quizzes, which both come with that hash. Only the dashboard reads
# through it; issuance always reads the database, inside its transaction.
_achievement_cache: dict[int, tuple[str, tuple[int, int, dict] | None, _Plan | None]] = {}


def _cached_achievements(db: Session, courses: list[EnrolledCourse]) -> dict[int, tuple[int, int, _Plan]]:
    found, missing = {}, []
    for course in courses:
        cached = _achievement_cache.get(course.course_id)
        if cached is not None and cached[0] == course.content_hash:
            if cached[1] is not None:
                found[course.course_id] = (cached[1][0], cached[1][1], cached[2])
        else:
            missing.append(course)
    if missing:
        fetched = _live_achievements(db, [c.course_id for c in missing])
        for course in missing:
            achievement = fetched.get(course.course_id)
            plan = None
            if achievement is not None:
                titles = {ref: (item.id, item.title) for ref, item in course.quizzes_by_ref.items()}
                plan = _plan(achievement[2], titles)
                found[course.course_id] = (achievement[0], achievement[1], plan)
            _achievement_cache[course.course_id] = (course.content_hash, achievement, plan)
    return found


def blockers_of_enrolled(db: Session, email_verified: bool, courses: list[EnrolledCourse]) -> dict[int, Eligibility]:
    """``blockers_by_course`` for courses the learner is enrolled in, from what the caller read: no
    statement in steady state (achievements are cached per course version), however many courses.
    The same rules."""
    if not courses:
        return {}
    db.flush()
    achievements = _cached_achievements(db, courses)
    result = {}
    for course in courses:
        course_id = course.course_id
        if course_id in result:
            continue
        found = achievements.get(course_id)
        if found is None:
            result[course_id] = Eligibility(None, None, ())
            continue
        achievement_id, version_id, plan = found
        result[course_id] = Eligibility(achievement_id, version_id, _apply(
            plan, course.track, email_verified, course.passed_ids, course.tested_out_ids, course.capstone))
    return result


_VERIFY_EMAIL = Blocker("verify_email", "Verify your email address")
_CREDENTIAL_TRACK = Blocker("credential_track", "Switch to the credential track")


@dataclass(frozen=True)
class _Plan:
    """What one credential definition asks of a course version, its blockers written out (they name the
    quizzes by title): the part of the rules that is the same for every learner. Blockers are immutable,
    so the same ones serve every learner they apply to."""

    # Per required quiz, in the definition's order: its item id (None: not in the course), the blocker
    # when it is not passed, and the one when its module was tested out of (None: that counts).
    quizzes: tuple[tuple[int | None, Blocker, Blocker | None], ...]
    capstone: bool  # the definition requires the capstone


def _plan(spec: dict, quizzes: dict[str, tuple[int, str]]) -> _Plan:
    """``quizzes``: "module/quiz" -> (item id, title) of the course's quizzes."""
    test_out_counts = spec["requires"].get("test_out", False)
    rules = []
    for ref in spec["requires"]["quizzes"]:
        item_id, title = quizzes.get(ref, (None, ref))
        # (A quiz that is not in the course is never passed: its title is its reference.)
        tested_out = None if test_out_counts else Blocker(
            "quiz", f"Pass the quiz “{title}” (testing out of its module does not count for the credential)", item_id)
        rules.append((item_id, Blocker("quiz", f"Pass the quiz “{title}”", item_id), tested_out))
    return _Plan(tuple(rules), bool(spec["requires"]["capstone"]))


def _apply(plan: _Plan, track: str, email_verified: bool, passed: set[int], tested_out: set[int] | frozenset[int],
           capstone: tuple) -> tuple:
    """The rules, from the facts: the items the learner passed and tested out of (their module by the
    placement quiz); ``capstone`` (item id, state of the latest version)."""
    blockers: list[Blocker] = []
    if not email_verified:
        blockers.append(_VERIFY_EMAIL)
    if track != "credential":
        blockers.append(_CREDENTIAL_TRACK)
    for item_id, not_passed, testing_out_not_counted in plan.quizzes:
        if item_id in passed:
            continue
        if item_id in tested_out:
            # Mastered by the placement quiz, which counts unless this credential does not accept it.
            if testing_out_not_counted is not None:
                blockers.append(testing_out_not_counted)
            continue
        blockers.append(not_passed)
    if plan.capstone:
        item_id, state = capstone
        if state != "passed":
            blockers.append(Blocker("capstone", _CAPSTONE_BLOCKERS.get(state, "Pass the capstone project"), item_id))
    return tuple(blockers)


def _quiz_states(db: Session, enrolled: dict[int, int], course_ids: list[int]) -> dict[int, dict]:
    """Per course: "module/quiz" -> (item id, title, passed, tested out by the learner), in one statement."""
    if not course_ids:
        return {}
    states: dict[int, dict] = {}
    rows = db.connection().execute(_QUIZZES_QUERY, {"course_ids": course_ids,
                                                    "enrollment_ids": [enrolled[c] for c in course_ids]})
    for course_id, module, item, item_id, title, passed, tested_out in rows:
        states.setdefault(course_id, {})[f"{module}/{item}"] = (item_id, title, passed, tested_out)
    return states


def _capstone_states(db: Session, enrolled: dict[int, int], course_ids: list[int]) -> dict[int, tuple]:
    """Per course: (capstone item id, state of the learner's latest version or None), in one statement."""
    if not course_ids:
        return {}
    states: dict[int, tuple] = {}
    rows = db.connection().execute(_CAPSTONES_QUERY, {"course_ids": course_ids,
                                         "enrollment_ids": [enrolled[c] for c in course_ids]})
    for course_id, item_id, state in rows:
        states.setdefault(course_id, (item_id, state))
    return states
