"""What verifiers fetch from the platform: status lists (revocation) and the did:web DID document.

Both are served as stored or derived from the keys, never signed per request: a status list's
credential is re-signed in the transaction that changes its bits (lms/credentials/issuance.py).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify
from sqlalchemy import select

from lms.credentials.issuance import signing_issuer
from lms.credentials.issuer import did_document_path
from lms.credentials.models import StatusList
from lms.db import get_db
from lms.security import access

bp = Blueprint("credentials", __name__)


@bp.route("/credentials/status/<int:list_id>")
@access("public")
def status_list(list_id: int):
    document = get_db().scalar(select(StatusList.document).where(StatusList.id == list_id))
    if document is None:
        abort(404)
    response = jsonify(document)
    # Verifiers may cache a minute: a revocation shows within that time, and a burst of checks is cheap.
    response.cache_control.public, response.cache_control.max_age = True, 60
    return response


@bp.route("/.well-known/did.json")
@access("public")
def did_document():
    settings = current_app.config["LMS_SETTINGS"]
    if settings.issuer_did != "web" or did_document_path(settings.public_url) != "/.well-known/did.json":
        abort(404)  # a did:key issuer has no document to serve (the identifier is the key)
    response = jsonify(signing_issuer(settings).did_document())
    response.cache_control.public, response.cache_control.max_age = True, 300
    return response
