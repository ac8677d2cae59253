"""Storing a capstone's definition when `flask courses sync` writes its item.

Subscribed to catalog's ``item_synced`` signal, so it runs inside the sync's transaction. A changed
definition (deliverables, rubric, pass rule, checks) becomes a new version and the old one is retired;
submissions and reviews keep pointing at the version they were made against, so a sync never
changes a grade already given.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lms.capstones.models import CapstoneVersion
from lms.catalog.models import Item
from lms.catalog.services import item_synced
from lms.content.specs import ItemSpec


@item_synced.connect
def store_capstone(db: Session, *, item: Item, spec: ItemSpec, now) -> None:
    if spec.capstone is None:
        return
    data = spec.capstone.to_json()
    content_hash = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    live = db.scalar(select(CapstoneVersion).where(CapstoneVersion.item_id == item.id,
                                                   CapstoneVersion.retired_at.is_(None)))
    if live is not None and live.content_hash == content_hash:
        return
    latest = db.scalar(select(func.max(CapstoneVersion.version)).where(CapstoneVersion.item_id == item.id)) or 0
    if live is not None:
        live.retired_at = now
        db.flush()  # the old version leaves the "one live version" index before the new one enters
    db.add(CapstoneVersion(item_id=item.id, version=latest + 1, spec=data, content_hash=content_hash,
                           created_at=now))
    db.flush()
