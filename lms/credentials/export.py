"""Exporting issued credentials to a folder (`flask credentials export DIR`): one file per credential.

Each file, ``<public_id>.json``, holds the signed document exactly as stored, the document a learner
downloads, pretty-printed as UTF-8: it verifies on its own (the proof covers the data, not its
layout). Rows are streamed in chunks, so an export of any size holds a few hundred documents in
memory, and each file is written to a temporary name in the folder and renamed, so a reader (or a
crash) never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from lms.credentials.models import Credential
from lms.uploads.storage import fsync_dir

CHUNK = 200  # documents fetched at a time (each a few kilobytes)


class ExportError(Exception):
    """The folder cannot be written to; the message says what to fix."""


def document_bytes(document: dict) -> bytes:
    """A credential file's content: the document pretty-printed, UTF-8, with a trailing newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def prepare_folder(folder: Path) -> None:
    """Create ``folder`` (and its parents) when missing; ExportError when it cannot hold the files."""
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file, not a folder: give a folder to export into (it is created if "
                          "missing)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write to {folder}: permission denied (choose a folder you can write to)")


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)  # (mkstemp makes it 0600; an export is meant to be read)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def export_credentials(db: Session, folder: Path, current_only: bool = False) -> int:
    """Write every issued credential (with ``current_only``, only those neither revoked nor superseded)
    as ``folder/<public_id>.json``, replacing files of the same name; returns how many were written."""
    prepare_folder(folder)
    query = select(Credential.public_id, Credential.document).order_by(Credential.id)
    if current_only:
        query = query.where(Credential.revoked_at.is_(None), Credential.superseded_at.is_(None))
    written = 0
    try:
        # Plain rows, not ORM objects: nothing accumulates in the session while the export runs.
        for public_id, document in db.execute(query.execution_options(yield_per=CHUNK)):
            write_atomically(folder / f"{public_id}.json", document_bytes(document))
            written += 1
        fsync_dir(folder)  # the renames too survive a crash
    except OSError as exc:
        raise ExportError(f"cannot write to {folder} after {written} file(s): {exc.strerror or exc}") from None
    return written

