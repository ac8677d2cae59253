"""Uploaded files are content-addressed and shared: a file goes only when no row references it.

Every column that names an upload by SHA-256 is listed in ``REFERENCES`` (today only
``submission_files.sha256``; a feature that stores uploads elsewhere adds its column here). Files are
deleted only after the transaction that dropped their last reference has committed, so a rollback
loses nothing; a crash between the commit and the deletion leaves an orphan that ``sweep`` (``flask
uploads sweep``) removes later.

A file written in the last ``GRACE_SECONDS`` is never deleted: an upload stores its file before the
row that references it commits, so a young unreferenced file may be someone's upload in flight.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import union
from sqlalchemy.orm import Session

from lms.capstones.models import SubmissionFile
from lms.uploads.storage import UploadStore

REFERENCES = (SubmissionFile.sha256,)
GRACE_SECONDS = 15 * 60
TEMP_MAX_AGE_SECONDS = 24 * 3600  # a ``.upload-*`` temporary left by a killed process
CHUNK = 500
_HEX = re.compile(r"[0-9a-f]{64}")


def referenced(db: Session, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` some row still references (one statement per CHUNK hashes)."""
    hashes = sorted(set(hashes))
    found: set[str] = set()
    for start in range(0, len(hashes), CHUNK):
        part = hashes[start:start + CHUNK]
        query = union(*[column.table.select().with_only_columns(column).where(column.in_(part))
                        for column in REFERENCES])
        found.update(db.execute(query).scalars())
    return found


@dataclass
class Removal:
    removed: list[str] = field(default_factory=list)
    kept_referenced: int = 0
    kept_young: int = 0  # left for a later sweep


def _old_enough(path: Path, now: float, grace: float) -> bool:
    try:
        return now - path.stat().st_mtime >= grace
    except FileNotFoundError:
        return False


def remove_unreferenced(db: Session, store: UploadStore, hashes: Iterable[str],
                        grace_seconds: float = GRACE_SECONDS) -> Removal:
    """Delete the files among ``hashes`` that no committed row references. Call after the commit."""
    hashes = set(hashes)
    result = Removal()
    still = referenced(db, hashes)
    result.kept_referenced = len(still)
    now = time.time()
    for sha256 in sorted(hashes - still):
        path = store.path_for(sha256)
        if not path.exists():
            continue
        if not _old_enough(path, now, grace_seconds):
            result.kept_young += 1
            continue
        path.unlink(missing_ok=True)
        result.removed.append(sha256)
    return result


def stored_hashes(store: UploadStore) -> Iterable[str]:
    if not store.root.is_dir():
        return
    for path in store.root.glob("*/*/*"):
        if path.is_file() and _HEX.fullmatch(path.name) and path.parent.parent.name == path.name[:2] \
                and path.parent.name == path.name[2:4]:
            yield path.name


def sweep(db: Session, store: UploadStore, grace_seconds: float = GRACE_SECONDS, dry_run: bool = False) -> Removal:
    """Remove every stored upload no row references (older than the grace period), and stale temporaries."""
    result = Removal()
    batch: list[str] = []
    for sha256 in stored_hashes(store):
        batch.append(sha256)
        if len(batch) >= CHUNK:
            _sweep_batch(db, store, batch, grace_seconds, dry_run, result)
            batch = []
    if batch:
        _sweep_batch(db, store, batch, grace_seconds, dry_run, result)
    now = time.time()
    if store.root.is_dir():
        for temp in store.root.glob(".upload-*"):
            if _old_enough(temp, now, TEMP_MAX_AGE_SECONDS) and not dry_run:
                temp.unlink(missing_ok=True)
    return result


def _sweep_batch(db, store, batch, grace_seconds, dry_run, result: Removal) -> None:
    if dry_run:
        still = referenced(db, batch)
        result.kept_referenced += len(still)
        now = time.time()
        for sha256 in batch:
            if sha256 in still:
                continue
            if _old_enough(store.path_for(sha256), now, grace_seconds):
                result.removed.append(sha256)
            else:
                result.kept_young += 1
        return
    part = remove_unreferenced(db, store, batch, grace_seconds)
    result.removed += part.removed
    result.kept_referenced += part.kept_referenced
    result.kept_young += part.kept_young
