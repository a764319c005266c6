"""Seals on what the scheduler keeps in redis for tasks to load (task data, the first contents
of a run's document: pickles, in part), bound to their run and checked when read back; the
key is derived from the token, which redis never sees."""

from __future__ import annotations

from lightflow_common.credentials import derive_key, seal_value, unseal_value


class DataSeal:
    def __init__(self, token: str | None) -> None:
        self._key = derive_key(token, "data")

    def seal(self, run_id: str, value: bytes) -> bytes:
        return seal_value(self._key, value, run_id.encode())

    def unseal(self, run_id: str, sealed: bytes) -> bytes | None:
        """The value, or None when its seal does not hold."""
        return unseal_value(self._key, sealed, run_id.encode())
