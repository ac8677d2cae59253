"""Keeping each course's and pathway's achievement in step with its file, when `flask courses sync` writes it.

Subscribed to catalog's ``course_synced`` and ``pathway_synced``, so it runs inside the sync's
transaction. A changed credential definition becomes a new achievement version and the old one
retires; credentials keep the version they were issued under, so a sync never changes a credential
already given. A course whose credential is removed (``credential: false``) or that is retired, and a
pathway whose file is removed, keep their achievement, retired: credentials issued under it stay valid.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.catalog.models import Course, Pathway
from lms.catalog.services import course_synced, pathway_synced
from lms.content.specs import CourseSpec, PathwaySpec
from lms.credentials.models import Achievement, AchievementVersion
from lms.errors import Conflict


def achievement_spec(spec: CourseSpec) -> dict:
    """What an achievement version stores: the credential rule and what the course says of itself."""
    rule = spec.credential
    data = rule.to_json()
    data["course"] = {"slug": spec.slug, "title": spec.title, "language": spec.language}
    if rule.image:
        asset = next(a for a in spec.assets if a.path == rule.image)
        data["image_url"] = asset.url
    return data


@course_synced.connect
def store_achievement(db: Session, *, course: Course, spec: CourseSpec | None, now, changes=None) -> None:
    achievement = db.scalar(select(Achievement).where(Achievement.course_id == course.id))
    if spec is None or spec.credential is None:
        if achievement is not None and achievement.retired_at is None:
            achievement.retired_at = now  # (its live version stays: restoring the course restores it as it was)
            if changes is not None:
                changes.retired.append("credential")
        return
    if achievement is None:
        achievement = Achievement(kind="course", slug=course.slug, course_id=course.id, created_at=now)
        db.add(achievement)
        db.flush()
    achievement.retired_at = None
    _store_version(db, achievement, achievement_spec(spec), now, changes)


class PathwaySlugTaken(Conflict):
    """A pathway's slug is a course's achievement's (both are published at /achievements/<slug>)."""


def pathway_achievement_spec(spec: PathwaySpec) -> dict:
    """What a pathway's achievement version stores: its definition and the course credentials it stacks."""
    data = {
        "name": spec.name, "description": spec.description, "criteria": spec.criteria, "image": spec.image,
        "skills": [s.to_json() for s in spec.skills],
        "requires": {"courses": list(spec.courses), "count": spec.required},
        "pathway": {"slug": spec.slug, "title": spec.title},
    }
    if spec.image:
        data["image_url"] = spec.assets[0].url
    return data


@pathway_synced.connect
def store_pathway_achievement(db: Session, *, pathway: Pathway, spec: PathwaySpec | None, now, changes=None) -> None:
    achievement = db.scalar(select(Achievement).where(Achievement.slug == pathway.slug))
    if achievement is not None and achievement.kind != "pathway":
        raise PathwaySlugTaken(f"the pathway `{pathway.slug}` has the slug of a course's credential (a course that "
                               "is retired now, or was renamed); give the pathway another slug (`slug:`)")
    if spec is None:
        if achievement is not None and achievement.retired_at is None:
            achievement.retired_at = now
        return
    if achievement is None:
        achievement = Achievement(kind="pathway", slug=pathway.slug, created_at=now)
        db.add(achievement)
        db.flush()
    achievement.retired_at = None
    _store_version(db, achievement, pathway_achievement_spec(spec), now, changes)


def _store_version(db: Session, achievement: Achievement, data: dict, now, changes) -> None:
    """A new live version when the definition changed (the old one retires); nothing when it did not."""
    content_hash = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    live = db.scalar(select(AchievementVersion).where(AchievementVersion.achievement_id == achievement.id,
                                                      AchievementVersion.retired_at.is_(None)))
    if live is not None and live.content_hash == content_hash:
        return
    latest = db.scalar(select(func.max(AchievementVersion.version))
                       .where(AchievementVersion.achievement_id == achievement.id)) or 0
    _retire_live_version(db, achievement.id, now)
    db.add(AchievementVersion(achievement_id=achievement.id, version=latest + 1, spec=data,
                              content_hash=content_hash, created_at=now))
    db.flush()
    if changes is not None:
        (changes.changed if latest else changes.added).append(f"credential (version {latest + 1})")


def _retire_live_version(db: Session, achievement_id: int, now) -> None:
    live = db.scalar(select(AchievementVersion).where(AchievementVersion.achievement_id == achievement_id,
                                                      AchievementVersion.retired_at.is_(None)))
    if live is not None:
        live.retired_at = now
        db.flush()  # the old version leaves the "one live version" index before a new one enters
