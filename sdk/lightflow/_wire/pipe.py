"""The messages between a worker and its task processes, and their encoding on the pipe.

A task process runs user code, so the worker reads what it sends as untrusted: every message
is bytes with a one-byte kind (never a pickle, which would run code in the worker on load),
read with a size limit, and names nothing but itself: the lease it is about is the one the
worker gave that process. The other direction carries the worker's leases; the task process
trusts its worker."""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Longest message a task process may send (a result's inline data is at most 1 MiB, its
# failure text and the full traceback beside it are cut to 64 Ki characters each; see
# lightflow._wire.failures). A longer one ends the task process.
MAX_CHILD_MESSAGE_BYTES = 8 * 1024 * 1024

_OUTPUT, _BLOCKED, _UNBLOCKED, _STORE_USED, _RESULT = b"O", b"B", b"U", b"D", b"R"
_RUN, _STOP = b"L", b"S"
_STREAMS = {b"1": "stdout", b"2": "stderr"}
_STREAM_CODES = {name: code for code, name in _STREAMS.items()}


class PipeProtocolError(ValueError):
    """A message that is not one of the pipe's: the task process misbehaves."""


# -- task process -> worker ------------------------------------------------------------------


@dataclass(frozen=True)
class OutputLine:
    """A line the task printed, without its newline."""

    stream: str  # "stdout" or "stderr"
    text: str


@dataclass(frozen=True)
class Blocked:
    """The task waits in join_dags: its slot may run other tasks meanwhile."""


@dataclass(frozen=True)
class Unblocked:
    """The task returned from join_dags."""


@dataclass(frozen=True)
class StoreUsed:
    """The task is about to make its first call on its run's store (which may create the
    run's document: its run's end is to remove it)."""


@dataclass(frozen=True)
class Result:
    """The task ended: a serialized TaskResult, and when it failed the full traceback (our
    own frames included, which the result's leaves out) for the worker's log."""

    result: bytes
    trace: str = ""


ChildMessage = OutputLine | Blocked | Unblocked | StoreUsed | Result


def encode_child(message: ChildMessage) -> bytes:
    if isinstance(message, OutputLine):
        return _OUTPUT + _STREAM_CODES[message.stream] + message.text.encode(errors="replace")
    if isinstance(message, Blocked):
        return _BLOCKED
    if isinstance(message, Unblocked):
        return _UNBLOCKED
    if isinstance(message, StoreUsed):
        return _STORE_USED
    # the trace first, the result as the rest: the result (up to 1 MiB of data) is not copied
    # more than before
    trace = message.trace.encode(errors="replace")
    return b"".join((_RESULT, struct.pack(">I", len(trace)), trace, message.result))


def decode_child(raw: bytes) -> ChildMessage:
    kind = raw[:1]
    if kind == _OUTPUT and raw[1:2] in _STREAMS:
        return OutputLine(_STREAMS[raw[1:2]], raw[2:].decode(errors="replace"))
    if kind == _BLOCKED and len(raw) == 1:
        return Blocked()
    if kind == _UNBLOCKED and len(raw) == 1:
        return Unblocked()
    if kind == _STORE_USED and len(raw) == 1:
        return StoreUsed()
    if kind == _RESULT and len(raw) >= 5:
        (size,) = struct.unpack_from(">I", raw, 1)
        if 5 + size <= len(raw):
            return Result(raw[5 + size :], raw[5 : 5 + size].decode(errors="replace"))
    raise PipeProtocolError(f"unknown message kind {kind!r} from a task process")


# -- worker -> task process ------------------------------------------------------------------


@dataclass(frozen=True)
class RunLease:
    """Run a task: the lease, the task's code (empty when the process was sent it before),
    where the store is, who runs it, the run's credential (the only one the task gets), and
    with the code, the workflow file's path and text (for its tracebacks)."""

    lease: bytes
    code: bytes
    store_address: str
    hostname: str
    worker_id: str
    credential: str
    source_path: str = ""
    source: bytes = b""


@dataclass(frozen=True)
class Stop:
    """Exit once idle."""


ParentMessage = RunLease | Stop


def _fields(*values: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(value)) + value for value in values)


def _unfields(raw: bytes) -> list[bytes]:
    values, offset = [], 0
    while offset < len(raw):
        (size,) = struct.unpack_from(">I", raw, offset)
        offset += 4
        values.append(raw[offset : offset + size])
        offset += size
    return values


def encode_parent(message: ParentMessage) -> bytes:
    if isinstance(message, Stop):
        return _STOP
    return _RUN + _fields(
        message.lease,
        message.code,
        message.store_address.encode(),
        message.hostname.encode(),
        message.worker_id.encode(),
        message.credential.encode(),
        message.source_path.encode(),
        message.source,
    )


def decode_parent(raw: bytes) -> ParentMessage:
    if raw == _STOP:
        return Stop()
    if raw[:1] == _RUN:
        lease, code, store, host, worker, credential, source_path, source = _unfields(raw[1:])
        return RunLease(
            lease,
            code,
            store.decode(),
            host.decode(),
            worker.decode(),
            credential.decode(),
            source_path.decode(),
            source,
        )
    raise PipeProtocolError(f"unknown message kind {raw[:1]!r} from the worker")
