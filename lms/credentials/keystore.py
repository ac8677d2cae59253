"""The issuer's signing keys: in the instance folder (readable only by the owner), or from the environment.

Keys are never deleted. Rotating adds a new key, which signs from then on; the old ones stay, so the
``did:web`` document keeps listing them and credentials signed before the rotation still verify. (With
``did:key`` every key is its own identifier, so an old credential carries its key with it.)

Folder layout: ``<instance>/credential-keys/<created>-<multikey>.pem``, PKCS#8 PEM, mode 0600, in a
folder of mode 0700; the newest file is the current key. A file is written under a temporary name,
synced and renamed, so a crash never leaves half a key that looks current.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lms.credentials.keys import (
    KeyFormatError,
    generate_private_key,
    private_key_from_pem,
    private_key_to_pem,
    public_key_from_multikey,
    public_multikey,
)

KEY_FOLDER = "credential-keys"


class NoIssuerKey(RuntimeError):
    """No signing key is configured; the message says how to make one."""


@dataclass(frozen=True)
class IssuerKey:
    multikey: str  # the public key, "z6Mk..."
    public_key: Ed25519PublicKey
    private_key: Ed25519PrivateKey | None = None  # only the current key is needed to sign
    source: str = ""  # where it came from, for `flask credentials keys`


@dataclass(frozen=True)
class KeyRing:
    current: IssuerKey
    retired: tuple[IssuerKey, ...] = ()  # older keys, newest first: they verify, they no longer sign

    @property
    def all(self) -> tuple[IssuerKey, ...]:
        return (self.current, *self.retired)

    def find(self, multikey: str) -> IssuerKey | None:
        return next((key for key in self.all if key.multikey == multikey), None)


def key_folder(instance_dir: Path) -> Path:
    return instance_dir / KEY_FOLDER


def _key_files(folder: Path) -> list[Path]:
    # The name starts with its creation time, so the sorted list is oldest first.
    return sorted(p for p in folder.glob("*.pem") if not p.name.startswith("."))


def _read_key(path: Path) -> IssuerKey:
    try:
        private_key = private_key_from_pem(path.read_bytes())
    except KeyFormatError as exc:
        raise KeyFormatError(f"{path}: {exc}") from None
    public_key = private_key.public_key()
    return IssuerKey(public_multikey(public_key), public_key, private_key, str(path))


def load_keyring(instance_dir: Path, env_key_pem: str | None = None, env_retired: tuple[str, ...] = ()) -> KeyRing:
    """The keys to sign and verify with. A key given by the environment (``LMS_ISSUER_KEY``, PEM) is
    current and the folder's keys are retired; otherwise the folder's newest key is current.
    ``env_retired`` are public Multikeys of retired keys kept elsewhere (``LMS_ISSUER_RETIRED_KEYS``)."""
    folder_keys = [_read_key(path) for path in _key_files(key_folder(instance_dir))] if key_folder(
        instance_dir).is_dir() else []
    retired_public = []
    for value in env_retired:
        try:
            retired_public.append(IssuerKey(value, public_key_from_multikey(value), None, "LMS_ISSUER_RETIRED_KEYS"))
        except KeyFormatError as exc:
            raise KeyFormatError(f"LMS_ISSUER_RETIRED_KEYS: {value!r}: {exc}") from None
    if env_key_pem:
        pem = env_key_pem.replace("\\n", "\n").strip().encode("ascii", "replace") + b"\n"
        try:
            private_key = private_key_from_pem(pem)
        except KeyFormatError as exc:
            raise KeyFormatError(f"LMS_ISSUER_KEY: {exc}") from None
        current = IssuerKey(public_multikey(private_key.public_key()), private_key.public_key(), private_key,
                            "LMS_ISSUER_KEY")
        older = [k for k in reversed(folder_keys) if k.multikey != current.multikey]
    elif folder_keys:
        current, older = folder_keys[-1], list(reversed(folder_keys[:-1]))
    else:
        raise NoIssuerKey(f"no credential signing key: run `flask credentials keygen` (it writes one into "
                          f"{key_folder(instance_dir)}), or set LMS_ISSUER_KEY to a PEM Ed25519 private key")
    seen = {current.multikey}
    retired = []
    for key in [*older, *retired_public]:
        if key.multikey not in seen:
            seen.add(key.multikey)
            retired.append(key)
    return KeyRing(current, tuple(retired))


def create_key(instance_dir: Path, now: datetime | None = None) -> IssuerKey:
    """Write a new key, which becomes the current one (the others are kept)."""
    folder = key_folder(instance_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    private_key = generate_private_key()
    multikey = public_multikey(private_key.public_key())
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = folder / f"{stamp}-{multikey}.pem"
    temporary = folder / f".{final.name}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(private_key_to_pem(private_key))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return IssuerKey(multikey, private_key.public_key(), private_key, str(final))
