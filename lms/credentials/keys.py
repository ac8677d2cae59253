"""Issuer keys: Ed25519, written as Multikey (multibase base58btc) and as ``did:key`` identifiers.

A ``did:key`` is the public key itself, so anyone can check a signature made with it without asking
us: ``did:key:z6Mk...`` is "z" + base58btc(0xed 0x01 || the 32-byte public key).
"""

from __future__ import annotations

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# The multicodec prefix of an Ed25519 public key (0xed, as an unsigned varint).
_ED25519_PUB = b"\xed\x01"


class KeyFormatError(ValueError):
    """A key, Multikey or did:key that cannot be read; the message says what is wrong with it."""


def multibase_base58(data: bytes) -> str:
    return "z" + base58.b58encode(data).decode("ascii")


def from_multibase_base58(value: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z") or len(value) < 2:
        raise KeyFormatError("expected a multibase base58btc value (it starts with 'z')")
    try:
        return base58.b58decode(value[1:])
    except ValueError as exc:
        raise KeyFormatError(f"not base58btc: {exc}") from None


def public_multikey(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return multibase_base58(_ED25519_PUB + raw)


def public_key_from_multikey(value: str) -> Ed25519PublicKey:
    data = from_multibase_base58(value)
    if len(data) != 34 or not data.startswith(_ED25519_PUB):
        raise KeyFormatError("not an Ed25519 Multikey (expected 0xed01 and 32 bytes of key)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def did_key(public_key: Ed25519PublicKey) -> str:
    return "did:key:" + public_multikey(public_key)


def did_key_verification_method(public_key: Ed25519PublicKey) -> str:
    """The key's verification method in its did:key document: ``did:key:z6Mk...#z6Mk...``."""
    multikey = public_multikey(public_key)
    return f"did:key:{multikey}#{multikey}"


def public_key_from_did_key(verification_method: str) -> Ed25519PublicKey:
    """The public key a did:key verification method names, checked to be the same on both sides of '#'."""
    if not verification_method.startswith("did:key:"):
        raise KeyFormatError("not a did:key")
    did, _, fragment = verification_method[len("did:key:"):].partition("#")
    if fragment and fragment != did:
        raise KeyFormatError("a did:key verification method's fragment must repeat its key")
    return public_key_from_multikey(did)


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_to_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError("the key is not an Ed25519 key (credentials are signed with Ed25519)")
    return key
