"""The JSON-LD contexts credentials use, bundled, and a document loader that never goes online."""

from __future__ import annotations

import functools
import json
from pathlib import Path

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

FILES = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3: "ob-v3p0-context-3.0.3.jsonld",
    DID_V1: "did-v1.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
}

_HERE = Path(__file__).parent


class UnknownContext(ValueError):
    """A document named a context that is not bundled: it is refused rather than fetched."""


@functools.cache
def context_document(url: str) -> dict:
    name = FILES.get(url)
    if name is None:
        raise UnknownContext(f"the JSON-LD context {url!r} is not one this platform knows "
                             f"(known: {', '.join(FILES)}); it is never fetched from the network")
    return json.loads((_HERE / name).read_text(encoding="utf-8"))


def document_loader(url: str, options: dict | None = None) -> dict:
    """PyLD's document loader over the bundled files only (PyLD's default would fetch with requests)."""
    return {"contextUrl": None, "documentUrl": url, "document": context_document(url)}
