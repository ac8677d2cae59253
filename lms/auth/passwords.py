"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lms.config import PASSWORD_HASH_PRESETS

MIN_LENGTH = 10
MAX_LENGTH = 200


def make_hasher(preset: str) -> PasswordHasher:
    return PasswordHasher(**PASSWORD_HASH_PRESETS[preset])


def verify(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def weakness(password: str, email: str = "") -> str | None:
    """Why a new password is not acceptable, or None. Length over composition rules (NIST 800-63B)."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if email and password.strip().lower() in (email.lower(), email.split("@", maxsplit=1)[0].lower()):
        return "Do not use your email address as your password."
    if len(set(password)) < 4:
        return "Use a less repetitive password."
    return None
