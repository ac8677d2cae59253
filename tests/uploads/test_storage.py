"""Upload storage on a real folder: types by content, limits, atomic writes, safe names."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from lms.uploads.storage import (
    BadFileName,
    FileTooLarge,
    FileTypeNotAllowed,
    FileTypeRejected,
    UploadIncomplete,
    UploadStore,
    sanitize_filename,
)
from lms.uploads.types import FILE_TYPES

ALL = tuple(FILE_TYPES)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 120


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
NOTEBOOK = json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode()


@pytest.fixture
def store(tmp_path):
    return UploadStore(tmp_path / "uploads")


def _left_on_disk(store) -> list:
    return sorted(p.name for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


@pytest.mark.parametrize("name, content, media_type", [
    ("chart.png", PNG, "image/png"),
    ("report.pdf", PDF, "application/pdf"),
    ("data.csv", b"\xef\xbb\xbfa,b\n1,2\n", "text/csv"),
    ("notes.md", "## Résumé\n\nÇa marche.\n".encode(), "text/markdown"),
    ("analysis.ipynb", NOTEBOOK, "application/x-ipynb+json"),
    ("essay.docx", DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("project.zip", _zip({"a.txt": b"x"}), "application/zip"),
    ("query.sql", b"SELECT 1;\n", "application/sql"),
])
def test_allowed_types_with_real_content_are_stored(store, name, content, media_type):
    stored = store.save(io.BytesIO(content), name, allowed=ALL, max_bytes=10_000)
    assert stored.media_type == media_type and stored.size == len(content) and stored.name == name
    assert store.path_for(stored.sha256).read_bytes() == content


@pytest.mark.parametrize("name, content, says", [
    ("report.pdf", EXE, r"not a PDF file \(its content looks like a \w"),
    ("chart.png", b"<html><script>alert(1)</script></html>", "not a PNG"),
    ("essay.docx", _zip({"a.txt": b"x"}), "not a Word"),
    ("data.csv", b"a,b\x00\x01\x02", "not a CSV"),
    ("notes.txt", "café".encode("latin-1"), "not UTF-8"),
    ("analysis.ipynb", b'{"cells": []', "not valid Jupyter notebook"),
])
def test_a_file_whose_content_is_not_its_type_is_refused_and_nothing_kept(store, name, content, says):
    with pytest.raises(FileTypeRejected, match=says):
        store.save(io.BytesIO(content), name, allowed=ALL, max_bytes=10_000)
    assert _left_on_disk(store) == []


def test_a_type_the_caller_does_not_allow_is_refused_before_reading(store):
    with pytest.raises(FileTypeNotAllowed, match="allowed: csv, pdf"):
        store.save(io.BytesIO(PNG), "chart.png", allowed=("pdf", "csv"), max_bytes=10_000)
    with pytest.raises(FileTypeNotAllowed):
        store.save(io.BytesIO(b"x"), "no-extension", allowed=ALL, max_bytes=10_000)


def test_size_limits_exactly_at_the_limit_passes_one_byte_over_leaves_nothing(store):
    content = b"a" * 999 + b"\n"
    assert store.save(io.BytesIO(content), "ok.txt", allowed=ALL, max_bytes=1000).size == 1000
    with pytest.raises(FileTooLarge, match="larger than"):
        store.save(io.BytesIO(content + b"b"), "big.txt", allowed=ALL, max_bytes=1000)
    assert len(_left_on_disk(store)) == 1  # only the first file, no temporary left


def test_an_empty_file_is_refused(store):
    with pytest.raises(UploadIncomplete, match="empty"):
        store.save(io.BytesIO(b""), "empty.txt", allowed=ALL, max_bytes=1000)
    assert _left_on_disk(store) == []


class _DropsMidway(io.RawIOBase):
    """A request body whose connection drops after some bytes."""

    def __init__(self, data: bytes, after: int):
        self.stream, self.after, self.sent = io.BytesIO(data), after, 0

    def read(self, size=-1):
        if self.sent >= self.after:
            raise OSError("connection reset by peer")
        chunk = self.stream.read(min(size, self.after - self.sent))
        self.sent += len(chunk)
        return chunk


def test_an_upload_cut_off_mid_way_leaves_nothing(store):
    with pytest.raises(UploadIncomplete, match="interrupted"):
        store.save(_DropsMidway(b"a,b\n" * 100_000, after=70_000), "big.csv", allowed=ALL, max_bytes=10_000_000)
    assert _left_on_disk(store) == []


def test_identical_content_is_stored_once(store):
    first = store.save(io.BytesIO(PDF), "a.pdf", allowed=ALL, max_bytes=10_000)
    second = store.save(io.BytesIO(PDF), "b.pdf", allowed=ALL, max_bytes=10_000)
    assert first.sha256 == second.sha256 and _left_on_disk(store) == [first.sha256]


@pytest.mark.parametrize("raw, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
    ("/absolute/path/report.pdf", "report.pdf"),
    ("re\x00port\x1b[31m.pdf", "report[31m.pdf"),
    ("  spaced name .pdf ", "spaced name .pdf"),
    ("Résumé — final.pdf", "Résumé — final.pdf"),
    ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
])
def test_file_names_are_sanitised(raw, expected):
    assert sanitize_filename(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "../", "..", "CON", "nul.txt", "\x00\x01"])
def test_a_name_that_is_empty_or_reserved_gets_a_clear_error(raw):
    with pytest.raises(BadFileName, match="Rename it"):
        sanitize_filename(raw)


def test_path_for_refuses_anything_but_a_digest(store):
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
