"""Uploaded files: content-addressed storage outside the static folder, type checks, safe downloads."""

from __future__ import annotations

from flask import Flask, current_app, request

from lms.uploads.storage import UploadStore

# The largest request an upload view accepts: the largest file a capstone may allow (50 MB) and the
# multipart envelope around it. Each upload's own limit is enforced while it is stored.
MAX_UPLOAD_FILE_BYTES = 50 * 1024 * 1024
MAX_UPLOAD_REQUEST_BYTES = MAX_UPLOAD_FILE_BYTES + 256 * 1024


def accepts_uploads(view):
    """Mark a view that takes file uploads: its requests may be as large as MAX_UPLOAD_REQUEST_BYTES
    (every other request stays under the app's MAX_CONTENT_LENGTH)."""
    view.accepts_uploads = True
    return view


def _allow_upload_sizes() -> None:
    # Runs before CSRF protection, which parses the form and so applies the limit in force.
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if getattr(view, "accepts_uploads", False):
        request.max_content_length = MAX_UPLOAD_REQUEST_BYTES


def init_app(app: Flask, settings) -> None:
    app.extensions["lms.uploads"] = UploadStore(settings.uploads_dir)
    app.before_request_funcs.setdefault(None, []).insert(0, _allow_upload_sizes)


def get_upload_store() -> UploadStore:
    return current_app.extensions["lms.uploads"]
