"""Bitstring Status Lists (W3C): one bit per credential, published in a credential the platform signs.

A credential's ``credentialStatus`` names a list and an index; the bit at that index is 1 once the
credential is revoked. The list is GZIP-compressed and base64url-encoded with a multibase "u" prefix;
bit 0 is the most significant bit of the first byte. Lists hold at least 131,072 entries (16 KB), as
the specification asks, so a list's size says nothing about how many credentials exist.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from datetime import datetime

from lms.credentials.contexts import VC_V2
from lms.credentials.proof import timestamp

MIN_ENTRIES = 131_072
# A list is decoded from documents people paste: refuse one that inflates beyond this (a zip bomb).
MAX_DECODED_BYTES = 16 * 1024 * 1024


class StatusListError(ValueError):
    """An encoded list that cannot be read; the message says why."""


def empty_bitstring(entries: int = MIN_ENTRIES) -> bytearray:
    return bytearray((max(entries, MIN_ENTRIES) + 7) // 8)


def set_bit(bitstring: bytearray, index: int, value: bool = True) -> None:
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError(f"status list index {index} is outside the list (0..{len(bitstring) * 8 - 1})")
    mask = 0x80 >> (index % 8)
    if value:
        bitstring[index // 8] |= mask
    else:
        bitstring[index // 8] &= ~mask & 0xFF


def get_bit(bitstring: bytes, index: int) -> bool:
    if not 0 <= index < len(bitstring) * 8:
        raise StatusListError(f"index {index} is outside the status list ({len(bitstring) * 8} entries)")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def encode(bitstring: bytes) -> str:
    # mtime=0: the same bits always give the same text (and the same signature).
    compressed = gzip.compress(bytes(bitstring), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode("ascii").rstrip("=")


def decode(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (it starts with 'u')")
    body = encoded[1:]
    try:
        compressed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StatusListError(f"encodedList is not base64url: {exc}") from None
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        data = inflater.decompress(compressed, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not base64url-encoded GZIP data: {exc}") from None
    if len(data) > MAX_DECODED_BYTES or inflater.unconsumed_tail:
        raise StatusListError("encodedList is larger than any status list this platform reads")
    if not inflater.eof or not data:
        raise StatusListError("encodedList is not base64url-encoded GZIP data: the stream is cut off or empty")
    return data


def status_list_credential(list_url: str, issuer_id: str, bitstring: bytes, valid_from: datetime,
                           purpose: str = "revocation") -> dict:
    """The unsigned BitstringStatusListCredential published at ``list_url``."""
    return {
        "@context": [VC_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_id,
        "validFrom": timestamp(valid_from),
        "credentialSubject": {"id": f"{list_url}#list", "type": "BitstringStatusList", "statusPurpose": purpose,
                              "encodedList": encode(bitstring)},
    }
