"""Flask's signed-cookie sessions, remembering the cookies this process has already verified.

A browser sends the same session cookie with every request until the session changes, and checking
its signature and decoding its JSON is a noticeable share of a fast request (the quiz scenario of
`make bench`). The remembered result is keyed by the exact cookie text, signature included, and by
the signing keys; it keeps the signing time, so the session's maximum age is enforced as before.
Only sessions whose values are all immutable (strings, numbers, booleans) are remembered: each
request gets its own copy of the dictionary, and nothing inside it can be changed in place.
"""

from __future__ import annotations

import time

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature

_IMMUTABLE = (str, int, float, bool, type(None))


class VerifiedCookieSessionInterface(SecureCookieSessionInterface):
    cache_max = 10_000  # cookies; the memory is emptied when full (a few MB at most)

    def __init__(self) -> None:
        self._verified: dict[tuple, tuple[float, dict]] = {}

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not app.secret_key:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        key = (value, app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        remembered = self._verified.get(key)
        if remembered is not None:
            signed_at, data = remembered
            if 0 <= time.time() - signed_at <= max_age:
                return self.session_class(data)
        try:
            data, signed_at = self.get_signing_serializer(app).loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:  # (expired ones too: SignatureExpired is a BadSignature)
            return self.session_class()
        if isinstance(data, dict) and all(isinstance(v, _IMMUTABLE) for v in data.values()):
            if len(self._verified) >= self.cache_max:
                self._verified.clear()
            self._verified[key] = (signed_at.timestamp(), data)
        return self.session_class(data)
