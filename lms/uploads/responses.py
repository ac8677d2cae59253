"""Serving a stored upload: always as a download, never rendered by the browser."""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, send_file

from lms.uploads.storage import UploadStore


def download_response(store: UploadStore, sha256: str, name: str, media_type: str):
    """The stored file as an attachment with its display name (ASCII fallback and RFC 5987 UTF-8 form).

    ``Content-Security-Policy: sandbox`` and ``nosniff`` keep an uploaded HTML or SVG file from running
    as a page of this site even if a browser were told to display it."""
    path = store.path_for(sha256)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=media_type, conditional=True, etag=sha256, max_age=0)
    ascii_name = name.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "") or "download"
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
