"""Reading a status list credential over HTTP, for `flask credentials verify` run away from the platform.

Bounded: http(s) only, a timeout, at most MAX_DOCUMENT_BYTES, JSON only. The platform's own pages
never use this: they read their status lists from the database.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from lms.credentials.verification import MAX_DOCUMENT_BYTES

TIMEOUT_SECONDS = 10


def fetch_status_list(url: str) -> dict:
    """The JSON document at ``url``; LookupError with the reason when it cannot be had."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise LookupError("only http(s) status lists are fetched")
    request = urllib.request.Request(url, headers={"Accept": "application/vc+ld+json, application/json",
                                                   "User-Agent": "skillmark-credentials-verify"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (scheme checked)
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise LookupError(str(getattr(exc, "reason", exc))) from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise LookupError("the answer is larger than any status list")
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise LookupError("the answer is not JSON") from None
    if not isinstance(document, dict):
        raise LookupError("the answer is not a JSON object")
    return document
