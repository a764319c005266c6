"""Secrets derived from the stack token, and what is made with them.

The stack token opens every RPC. The services derive from it, each for one purpose, keys that
never leave them (redis sees none):

- the **code key**: a scheduler seals each task's code with it when the workflow is
  registered, and a worker runs only code whose seal it verifies, so a definition written
  into redis directly runs nothing;
- the **data key**: a scheduler seals the task data and the document contents it keeps in
  redis, and checks the seal when it reads them back (they are pickles a task would load);
- the **run key**: a worker makes each task a *run credential* with it, which opens only the
  calls a task makes (store, blobs, signals) and only for the task's own run. Task processes
  never see the stack token.

Without a token (a development stack on loopback, where every call is open anyway) the keys
are derived from the empty string: seals still catch corruption, not forgery."""

from __future__ import annotations

import base64
import hmac

RUN_CREDENTIAL_PREFIX = "lfrun1."
SEAL_BYTES = 32
# Parts up to this size are sealed from one joined copy (cheap); larger ones incrementally.
_JOIN_LIMIT = 64 * 1024
# Credentials a worker keeps minted, one a run.
_MINTED_KEPT = 1024


def derive_key(token: str | None, purpose: str) -> bytes:
    return hmac.digest((token or "").encode(), f"lightflow/{purpose}/v1".encode(), "sha256")


def seal(key: bytes, *parts: bytes) -> bytes:
    """A MAC over `parts`, each length-prefixed so that no two part lists seal alike."""
    if sum(len(part) for part in parts) > _JOIN_LIMIT:
        mac = hmac.new(key, digestmod="sha256")
        for part in parts:
            mac.update(len(part).to_bytes(8, "big"))
            mac.update(part)
        return mac.digest()
    # One call into OpenSSL: a seal is made on every task hop, and hmac.new() with an update
    # per part costs several times as much for small parts.
    message = b"".join(len(part).to_bytes(8, "big") + part for part in parts)
    return hmac.digest(key, message, "sha256")


def check_seal(key: bytes, sealed: bytes, *parts: bytes) -> bool:
    return hmac.compare_digest(seal(key, *parts), sealed)


def seal_value(key: bytes, value: bytes, *context: bytes) -> bytes:
    """`value` with its seal in front, as kept in redis; the seal covers `context` too (the
    run it belongs to), so a sealed value copied elsewhere does not unseal there."""
    return seal(key, *context, value) + value


def unseal_value(key: bytes, sealed: bytes, *context: bytes) -> bytes | None:
    """The value `seal_value` sealed with the same context; None when the seal does not
    match."""
    if len(sealed) < SEAL_BYTES:
        return None
    mac, value = sealed[:SEAL_BYTES], sealed[SEAL_BYTES:]
    return value if check_seal(key, mac, *context, value) else None


class RunCredentials:
    """Makes and checks run credentials: `lfrun1.<run id>.<MAC of the run id>`."""

    def __init__(self, token: str | None) -> None:
        self._key = derive_key(token, "run-credential")
        self._minted: dict[str, str] = {}

    def mint(self, run_id: str) -> str:
        """The run's credential (kept for the run's next tasks: a worker mints one a lease)."""
        credential = self._minted.get(run_id)
        if credential is None:
            if len(self._minted) >= _MINTED_KEPT:
                self._minted.clear()
            credential = self._minted[run_id] = self._make(run_id)
        return credential

    def _make(self, run_id: str) -> str:
        mac = base64.urlsafe_b64encode(seal(self._key, run_id.encode())).rstrip(b"=")
        return f"{RUN_CREDENTIAL_PREFIX}{run_id}.{mac.decode()}"

    def verify(self, credential: str) -> str | None:
        """The run a genuine credential is for; None for anything else."""
        run_id = run_of(credential)
        if run_id is None or not hmac.compare_digest(self._make(run_id), credential):
            return None
        return run_id


def run_of(credential: str) -> str | None:
    """The run a credential names (unchecked: the token check verified it), or None when
    it is not a run credential."""
    if not credential.startswith(RUN_CREDENTIAL_PREFIX):
        return None
    run_id, dot, _ = credential[len(RUN_CREDENTIAL_PREFIX) :].rpartition(".")
    return run_id if dot and run_id else None


def code_seal(
    key: bytes,
    definition_hash: str,
    dag: str,
    task: str,
    code: bytes,
    source_path: str = "",
    source: str = "",
) -> bytes:
    """The seal of one task's code (a serialized Payload) in a registered definition, and of
    the workflow file's path and text that travel with it, when there are any (a definition
    without them seals as before they existed)."""
    parts = [b"code", definition_hash.encode(), dag.encode(), task.encode(), code]
    if source_path or source:
        parts += [source_path.encode(), source.encode()]
    return seal(key, *parts)
