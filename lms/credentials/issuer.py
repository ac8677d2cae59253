"""Who issues: the platform's DID (``did:key`` or ``did:web``, chosen by ``LMS_ISSUER_DID``) and its keys.

``did:key`` (the default) is the public key itself: anyone verifies offline, and a key rotation makes
a new identifier. ``did:web`` names the public host (``LMS_PUBLIC_URL``), for institutions that want
their domain on the credential: verifiers fetch ``/.well-known/did.json`` (served by
:mod:`lms.credentials.views`), which lists every key ever used, so credentials signed before a
rotation still verify.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lms.credentials.contexts import DID_V1, MULTIKEY_V1
from lms.credentials.keys import KeyFormatError, public_key_from_did_key
from lms.credentials.keystore import IssuerKey, KeyRing, load_keyring


def did_web_for(public_url: str) -> str:
    """did:web of a site: the host (a port as %3A), then the path's segments separated by ':'."""
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"LMS_PUBLIC_URL must be an http(s) URL for did:web, got {public_url!r}")
    host = parts.hostname + (quote(f":{parts.port}") if parts.port else "")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


def did_document_path(public_url: str) -> str:
    """Where a did:web resolver looks for the document: /.well-known/did.json, or <path>/did.json."""
    path = urlsplit(public_url).path.rstrip("/")
    return f"{path}/did.json" if path else "/.well-known/did.json"


@dataclass(frozen=True)
class Issuer:
    method: str  # "key" or "web"
    public_url: str
    keyring: KeyRing

    @property
    def id(self) -> str:
        return self.did_for(self.keyring.current)

    def did_for(self, key: IssuerKey) -> str:
        return f"did:key:{key.multikey}" if self.method == "key" else did_web_for(self.public_url)

    def verification_method(self, key: IssuerKey | None = None) -> str:
        key = key or self.keyring.current
        return f"{self.did_for(key)}#{key.multikey}"

    def resolve(self, verification_method: str) -> Ed25519PublicKey:
        """The public key of a verification method: any did:key (it is the key), or one of this
        platform's own did:web keys. Other DIDs cannot be resolved offline."""
        if verification_method.startswith("did:key:"):
            return public_key_from_did_key(verification_method)
        did, _, fragment = verification_method.partition("#")
        if self.method == "web" and did == did_web_for(self.public_url):
            key = self.keyring.find(fragment)
            if key is None:
                raise LookupError(f"{did} has no key {fragment!r} in its DID document")
            return key.public_key
        if did.startswith("did:web:"):
            raise LookupError(f"{did} is not this platform's DID, and other did:web documents are not "
                              "fetched (a did:web credential is checked by its own issuer's site)")
        raise KeyFormatError(f"unsupported DID method in {verification_method!r} (did:key and did:web are)")

    def did_document(self) -> dict:
        """The did:web DID document: every key, the current one first, each usable for assertions."""
        did = did_web_for(self.public_url)
        methods = [{"id": f"{did}#{key.multikey}", "type": "Multikey", "controller": did,
                    "publicKeyMultibase": key.multikey} for key in self.keyring.all]
        return {"@context": [DID_V1, MULTIKEY_V1], "id": did, "verificationMethod": methods,
                "assertionMethod": [m["id"] for m in methods]}


def issuer_from_settings(settings) -> Issuer:
    """The issuer the settings describe (raises NoIssuerKey when there is no key yet)."""
    keyring = load_keyring(settings.instance_dir, settings.issuer_key, settings.issuer_retired_keys)
    return Issuer(settings.issuer_did, settings.public_url, keyring)
