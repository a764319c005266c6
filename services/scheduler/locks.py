"""Short-lived redis locks with an owner token: taken with SET NX PX, released only by their
owner (compare-and-delete), so a replica that paused past the expiry cannot free a lock
another replica holds by then."""

from __future__ import annotations

import secrets

import redis

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLock:
    def __init__(self, client: redis.Redis, key: str, ttl_ms: int) -> None:
        self._client = client
        self._key = key
        self._ttl_ms = ttl_ms
        self._token = secrets.token_hex(16)
        self._release = client.register_script(_RELEASE)

    def acquire(self) -> bool:
        """Try once; True when we own the lock now."""
        return bool(self._client.set(self._key, self._token, nx=True, px=self._ttl_ms))

    def release(self) -> None:
        self._release(keys=[self._key], args=[self._token])

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *_exc: object) -> None:
        self.release()
