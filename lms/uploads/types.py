"""The file types uploads may have, and the check that a file's content is what its name says.

Pure Python (no Flask). Binary formats are recognised by their signature with ``puremagic``; text
formats must be UTF-8 without NUL bytes; JSON-based and zip-based formats are opened (never
extracted) to check their structure. A file named ``report.pdf`` that is really a Windows program is
refused with a message that says what it looks like.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import puremagic


class FileTypeMismatch(ValueError):
    """The content is not what the file's extension says (the message says what to do)."""


@dataclass(frozen=True)
class FileType:
    extension: str  # lower case, no dot
    media_type: str
    label: str
    check: Callable[[Path, str], None]  # raises FileTypeMismatch


def _looks_like(path: Path) -> str:
    """What puremagic thinks the content is: its most confident match, the longest signature first."""
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        matches = []
    if not matches:
        return "an unknown kind of file"
    best = max(matches, key=lambda m: (m.confidence, len(m.byte_match)))
    return f"a {best.name}" if not best.name.lower().startswith(("a ", "an ")) else best.name


def _mismatch(path: Path, name: str, label: str) -> FileTypeMismatch:
    return FileTypeMismatch(f"“{name}” is not a {label} file (its content looks like {_looks_like(path)}). "
                            f"Save or export it as {label} and upload that.")


def _signature(*prefixes: bytes, offset: int = 0, also: bytes | None = None, also_at: int = 0):
    def check(path: Path, name: str, label: str) -> None:
        with path.open("rb") as handle:
            head = handle.read(64)
        starts = any(head[offset:].startswith(p) for p in prefixes)
        if not starts or (also and head[also_at:also_at + len(also)] != also):
            raise _mismatch(path, name, label)

    return check


def _text(path: Path, name: str, label: str) -> None:
    data = path.read_bytes()
    if b"\x00" in data:
        raise _mismatch(path, name, label)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileTypeMismatch(f"“{name}” is not UTF-8 text. Save it with UTF-8 encoding and upload it "
                               "again.") from None


def _json(path: Path, name: str, label: str) -> dict | list:
    _text(path, name, label)
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError:
        raise FileTypeMismatch(f"“{name}” is not valid {label}: check that it is complete, and export it "
                               "again.") from None


def _notebook(path: Path, name: str, label: str) -> None:
    data = _json(path, name, label)
    if not isinstance(data, dict) or "cells" not in data or "nbformat" not in data:
        raise FileTypeMismatch(f"“{name}” is JSON but not a Jupyter notebook (no cells or nbformat).")


def _zip_with(*members: str, prefix: str | None = None, mimetype: str | None = None):
    def check(path: Path, name: str, label: str) -> None:
        if not zipfile.is_zipfile(path):
            raise _mismatch(path, name, label)
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                ok = all(m in names for m in members) and (prefix is None or any(n.startswith(prefix) for n in names))
                if ok and mimetype is not None:
                    ok = "mimetype" in names and archive.read("mimetype").strip() == mimetype.encode()
        except (zipfile.BadZipFile, OSError, KeyError):
            ok = False
        if not ok:
            raise FileTypeMismatch(f"“{name}” is a zip file but not a {label} document. Save it from your "
                                   f"office program as {label} and upload that.")

    return check


def _svg(path: Path, name: str, label: str) -> None:
    _text(path, name, label)
    head = path.read_text(encoding="utf-8-sig")[:4096].lower()
    if "<svg" not in head:
        raise _mismatch(path, name, label)


def _any_zip(path: Path, name: str, label: str) -> None:
    if not zipfile.is_zipfile(path):
        raise _mismatch(path, name, label)


def _type(extension: str, media_type: str, label: str, check) -> tuple[str, FileType]:
    return extension, FileType(extension, media_type, label, lambda path, name: check(path, name, label))


# The registry: what uploads (capstone files) may be. Course files name these extensions.
FILE_TYPES: dict[str, FileType] = dict([
    _type("pdf", "application/pdf", "PDF", _signature(b"%PDF-")),
    _type("png", "image/png", "PNG", _signature(b"\x89PNG\r\n\x1a\n")),
    _type("jpg", "image/jpeg", "JPEG", _signature(b"\xff\xd8\xff")),
    _type("jpeg", "image/jpeg", "JPEG", _signature(b"\xff\xd8\xff")),
    _type("gif", "image/gif", "GIF", _signature(b"GIF87a", b"GIF89a")),
    _type("webp", "image/webp", "WebP", _signature(b"RIFF", also=b"WEBP", also_at=8)),
    _type("svg", "image/svg+xml", "SVG", _svg),
    _type("zip", "application/zip", "zip", _any_zip),
    _type("ipynb", "application/x-ipynb+json", "Jupyter notebook", _notebook),
    _type("json", "application/json", "JSON", _json),
    _type("csv", "text/csv", "CSV", _text),
    _type("tsv", "text/tab-separated-values", "TSV", _text),
    _type("txt", "text/plain", "plain text", _text),
    _type("md", "text/markdown", "Markdown", _text),
    _type("py", "text/x-python", "Python", _text),
    _type("sql", "application/sql", "SQL", _text),
    _type("html", "text/html", "HTML", _text),
    _type("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word (.docx)",
          _zip_with("[Content_Types].xml", prefix="word/")),
    _type("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel (.xlsx)",
          _zip_with("[Content_Types].xml", prefix="xl/")),
    _type("pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint (.pptx)",
          _zip_with("[Content_Types].xml", prefix="ppt/")),
    _type("odt", "application/vnd.oasis.opendocument.text", "OpenDocument text (.odt)",
          _zip_with(mimetype="application/vnd.oasis.opendocument.text")),
    _type("ods", "application/vnd.oasis.opendocument.spreadsheet", "OpenDocument spreadsheet (.ods)",
          _zip_with(mimetype="application/vnd.oasis.opendocument.spreadsheet")),
])
