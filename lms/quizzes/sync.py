"""Storing a quiz's settings and questions when `flask courses sync` writes its item.

Subscribed to catalog's ``item_synced`` signal, so it runs inside the sync's transaction: a bad
course changes nothing, quizzes included. Questions are matched by key (the author's ``key``, else
the question's name made into a slug): unchanged questions keep their row, a changed question gets a
new version, a removed one is retired. Nothing learners did is touched.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.catalog.models import Item
from lms.catalog.services import item_synced
from lms.content.fields import QUIZ_FIELDS
from lms.content.specs import ItemSpec
from lms.quizzes.models import QuestionVersion, QuizConfig

QUIZ_DEFAULTS = {f.name: f.default for f in QUIZ_FIELDS if f.name not in ("type", "title", "slug")}


def question_keys(questions) -> list[str]:
    """A stable key per question: its own ``key``, else a slug of its name (numbered if repeated)."""
    keys, seen = [], set()
    for n, question in enumerate(questions, start=1):
        base = question.key or _slug(question.name or question.text.text) or f"question-{n}"
        key, suffix = base, 2
        while key in seen:
            key, suffix = f"{base}-{suffix}", suffix + 1
        seen.add(key)
        keys.append(key)
    return keys


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:100]


@item_synced.connect
def store_quiz(db: Session, *, item: Item, spec: ItemSpec, now) -> None:
    if spec.quiz is None:
        return
    settings = {**QUIZ_DEFAULTS, **spec.quiz.settings}
    config = db.get(QuizConfig, item.id)
    if config is None:
        config = QuizConfig(item_id=item.id)
        db.add(config)
    if config.settings != settings:
        config.role, config.settings, config.updated_at = settings["role"], settings, now

    live = {q.key: q for q in db.scalars(select(QuestionVersion).where(
        QuestionVersion.quiz_item_id == item.id, QuestionVersion.retired_at.is_(None)))}
    latest = dict(db.execute(select(QuestionVersion.key, QuestionVersion.version).where(
        QuestionVersion.quiz_item_id == item.id).order_by(QuestionVersion.version)).all())
    keys = question_keys(spec.quiz.questions)
    for position, (key, question, html) in enumerate(zip(keys, spec.quiz.questions, spec.question_html,
                                                         strict=True), start=1):
        data = question.to_json()
        content_hash = hashlib.sha256(json.dumps([data, html], sort_keys=True).encode()).hexdigest()
        current = live.pop(key, None)
        if current is not None and current.content_hash == content_hash:
            current.position = position
            continue
        if current is not None:
            current.retired_at = now
            db.flush()  # the old version leaves the "one live version" index before the new one enters
        db.add(QuestionVersion(quiz_item_id=item.id, key=key, version=latest.get(key, 0) + 1, position=position,
                               type=question.type, points=question.points, spec=data, html=html,
                               content_hash=content_hash, created_at=now))
    for removed in live.values():
        removed.retired_at = now
    db.flush()
