"""The credential tables' constraints, on SQLite and PostgreSQL: the database refuses what must never be."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from lms.credentials import status_list
from lms.credentials.models import Achievement, AchievementVersion, Credential, StatusList
from lms.db import utcnow


@pytest.fixture
def setting(db, make_course, make_user):
    course = make_course("cred-models")
    achievement = Achievement(kind="course", slug="cred-models", course_id=course.id)
    db.add(achievement)
    db.flush()
    version = AchievementVersion(achievement_id=achievement.id, version=1, spec={"name": "x"}, content_hash="0" * 64)
    listing = StatusList(purpose="revocation", entries=status_list.MIN_ENTRIES,
                         bits=bytes(status_list.empty_bitstring()))
    db.add_all([version, listing])
    db.flush()
    return achievement, version, listing, make_user("holder@example.com")


def _credential(setting, index: int, **values) -> Credential:
    achievement, version, listing, user = setting
    now = utcnow()
    return Credential(public_id=str(uuid.uuid4()), user_id=user.id, achievement_id=achievement.id,
                      achievement_version_id=version.id, document={"id": "x"}, status_list_id=listing.id,
                      status_index=index, valid_from=now, **values)


def test_a_learner_holds_at_most_one_current_credential_per_achievement(db, setting):
    first = _credential(setting, 1)
    db.add(first)
    db.flush()
    with db.begin_nested():
        db.add(_credential(setting, 2))
        with pytest.raises(IntegrityError):
            db.flush()
    # Once the first is revoked (or superseded), a new one may be issued.
    first.revoked_at, first.revoke_reason = utcnow(), "Issued in error"
    db.flush()
    db.add(_credential(setting, 3))
    db.flush()


@pytest.mark.parametrize("values", [
    {"revoked_at": utcnow()},  # a revocation without a reason
    {"waiver": "Completed elsewhere"},  # a waiver without who awarded it
    {"valid_until": utcnow() - timedelta(days=1)},  # ends before it starts
])
def test_the_database_refuses_incomplete_or_impossible_credentials(db, setting, values):
    db.add(_credential(setting, 5, **values))
    with pytest.raises(IntegrityError):
        db.flush()


def test_two_credentials_never_share_a_status_bit(db, setting, make_user):
    db.add(_credential(setting, 9))
    db.flush()
    other = _credential(setting, 9)
    other.user_id = make_user("other@example.com").id
    db.add(other)
    with pytest.raises(IntegrityError):
        db.flush()


def test_a_status_list_is_never_smaller_than_the_minimum(db):
    db.add(StatusList(purpose="revocation", entries=1000, bits=bytes(125)))
    with pytest.raises(IntegrityError):
        db.flush()


def test_a_course_achievement_names_its_course(db):
    db.add(Achievement(kind="course", slug="orphan"))
    with pytest.raises(IntegrityError):
        db.flush()


def test_a_renewal_supersedes_first_then_inserts_the_new_credential(db, setting):
    old = _credential(setting, 11)
    db.add(old)
    db.flush()
    old.superseded_at = utcnow()  # step one: the old credential stops being current
    db.flush()
    new = _credential(setting, 12)
    db.add(new)
    db.flush()
    old.superseded_by_id = new.id  # step two: the link
    db.flush()
    # A link without the time would leave the old one current in the index's eyes: refused.
    third = _credential(setting, 13, revoked_at=utcnow(), revoke_reason="test")
    db.add(third)
    db.flush()
    with db.begin_nested():
        third.superseded_by_id = new.id
        with pytest.raises(IntegrityError):
            db.flush()
