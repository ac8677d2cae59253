"""Content-addressed file storage for uploads, written so that no row ever points at a partial file.

A file is streamed to a temporary name in the uploads folder (hashed and counted on the way, stopped
as soon as it passes its limit), flushed and fsync'ed, checked against its type, then renamed to its
SHA-256 and the folder fsync'ed. Whatever goes wrong, the temporary file is removed. Identical
content is stored once. No Flask here; the app keeps one store (lms.uploads.get_upload_store).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lms.errors import DomainError
from lms.uploads.types import FILE_TYPES, FileTypeMismatch

CHUNK = 64 * 1024
MAX_NAME_CHARS = 120
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.IGNORECASE)


class UploadError(DomainError):
    pass


class FileTooLarge(UploadError):
    status_code = 413


class FileTypeNotAllowed(UploadError):
    pass


class FileTypeRejected(UploadError):
    pass


class BadFileName(UploadError):
    pass


class UploadIncomplete(UploadError):
    pass


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    extension: str
    media_type: str
    name: str  # the sanitised display name


def sanitize_filename(raw: str | None) -> str:
    """A display name safe to show and to put in Content-Disposition: the last path component only,
    without control characters, at most MAX_NAME_CHARS long, keeping its extension."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".").strip()
    if not name or _WINDOWS_RESERVED.match(name):
        raise BadFileName("The file has no usable name. Rename it (for example `report.pdf`) and upload it again.")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:10] if dot else ""
        keep = MAX_NAME_CHARS - len(extension) - 1
        name = (stem if dot else name)[:keep].rstrip() + (f".{extension}" if dot else "")
    return name


class UploadStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def save(self, stream: BinaryIO, filename: str, *, allowed: Collection[str], max_bytes: int) -> StoredFile:
        """Store an upload of an allowed type within max_bytes, or raise an UploadError and keep nothing."""
        name = sanitize_filename(filename)
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        if extension not in allowed or extension not in FILE_TYPES:
            kinds = ", ".join(sorted(allowed))
            raise FileTypeNotAllowed(f"Files of type “.{extension or 'none'}” are not accepted here; allowed: "
                                     f"{kinds}.")
        self.root.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=".upload-", dir=self.root)
        temp = Path(temp_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(handle, "wb") as out:
                while chunk := self._read(stream):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(f"“{name}” is larger than the {max_bytes / 1024 / 1024:.3g} MB allowed. "
                                           "Nothing was saved; upload a smaller file.")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise UploadIncomplete(f"“{name}” is empty (0 bytes). Choose the file again and upload it.")
            file_type = FILE_TYPES[extension]
            try:
                file_type.check(temp, name)
            except FileTypeMismatch as exc:
                raise FileTypeRejected(str(exc)) from None
            sha256 = digest.hexdigest()
            target = self.path_for(sha256)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)  # atomic: the name appears only with the whole content behind it
            fsync_dir(target.parent)
            return StoredFile(sha256, size, extension, file_type.media_type, name)
        finally:
            temp.unlink(missing_ok=True)

    @staticmethod
    def _read(stream: BinaryIO) -> bytes:
        try:
            return stream.read(CHUNK)
        except OSError as exc:
            raise UploadIncomplete("The upload was interrupted before it finished; nothing was saved. Check your "
                                   "connection and upload the file again.") from exc


def fsync_dir(folder: Path) -> None:
    """Make the names written in ``folder`` (a rename) survive a crash, as fsync does a file's content."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
