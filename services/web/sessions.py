"""Signed-in browsers: a session is its expiry and a MAC over it, with a key derived from the
stack's token. Nothing is stored, so every instance of the stack accepts every session, and
changing the token ends them all."""

from __future__ import annotations

import hashlib
import hmac
import time

COOKIE = "lightflow_session"


class Sessions:
    def __init__(self, token: str, lifetime_s: int) -> None:
        self._key = hmac.new(token.encode(), b"lightflow-web-session-v1", hashlib.sha256).digest()
        self._token = token.encode()
        self.lifetime_s = lifetime_s

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)

    def new(self, now: float | None = None) -> str:
        expiry = int((now if now is not None else time.time()) + self.lifetime_s)
        return f"{expiry}.{self._mac(expiry)}"

    def valid(self, session: str, now: float | None = None) -> bool:
        expiry_text, _, mac = session.partition(".")
        if not expiry_text.isdigit() or len(expiry_text) > 12:
            return False
        expiry = int(expiry_text)
        if expiry < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(mac, self._mac(expiry))

    def _mac(self, expiry: int) -> str:
        return hmac.new(self._key, str(expiry).encode(), hashlib.sha256).hexdigest()
