"""Calls to a set of equal scheduler replicas: spread them, or stay on one, and move to the
next replica when one is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc

from lightflow._grpc import RETRYABLE_CODES, Bearer, split_addresses
from lightflow._tls import TlsOptions, connect
from lightflow.v1 import scheduler_pb2, scheduler_pb2_grpc

T = TypeVar("T")

# A replica that refused a call is passed over by balanced calls for this long.
_DOWN_SECONDS = 5.0
# A document's creation is one store call.
_ENSURE_TIMEOUT_S = 30.0
# Reading a run's provenance is a few redis reads.
_READ_META_TIMEOUT_S = 30.0


class SchedulerStubs:
    """The stubs of one replica's channel."""

    def __init__(self, channel: grpc.Channel, address: str = "") -> None:
        self.channel = channel
        self.address = address
        self.scheduler = scheduler_pb2_grpc.SchedulerServiceStub(channel)
        self.signal = scheduler_pb2_grpc.SignalServiceStub(channel)
        self.work = scheduler_pb2_grpc.WorkServiceStub(channel)


class Replicas:
    """Fail-over over scheduler replicas. A call that finds its replica unavailable is tried
    on the next one, for up to `failover_s` seconds in all; other errors (NOT_FOUND,
    INVALID_ARGUMENT, ...) are raised at once.

    Without `balance`, calls stay on the current replica until it fails (a worker's stream
    and its tasks' signals keep to one replica). With `balance`, each call goes to the next
    replica in turn, passing over replicas that failed in the last few seconds, so the
    clients of a deployment spread their calls over all replicas."""

    def __init__(
        self,
        addresses: str | Sequence[str],
        token: Bearer = None,
        *,
        failover_s: float = 30.0,
        tls: TlsOptions | None = None,
        balance: bool = False,
    ) -> None:
        self.addresses = split_addresses(addresses)
        self._token = token
        self._tls = tls
        self._failover_s = failover_s
        self._balance = balance
        self._stubs: dict[str, SchedulerStubs] = {}
        self._down_until: dict[str, float] = {}
        self._current = 0
        self._lock = threading.Lock()

    def stubs(self, index: int | None = None) -> SchedulerStubs:
        """The stubs of the current replica (or of the replica at `index`)."""
        with self._lock:
            return self._stubs_for(self.addresses[self._current if index is None else index])

    def _stubs_for(self, address: str) -> SchedulerStubs:
        if address not in self._stubs:
            self._stubs[address] = SchedulerStubs(connect(address, self._token, self._tls), address)
        return self._stubs[address]

    @property
    def current_address(self) -> str:
        return self.addresses[self._current]

    def advance(self) -> None:
        """Make the next replica the current one."""
        with self._lock:
            self._current = (self._current + 1) % len(self.addresses)

    def pick(self) -> SchedulerStubs:
        """The replica for the next call: the current one, or with `balance` the next one
        in turn that has not failed lately."""
        with self._lock:
            if self._balance:
                now = time.monotonic()
                for step in range(1, len(self.addresses) + 1):
                    index = (self._current + step) % len(self.addresses)
                    if self._down_until.get(self.addresses[index], 0.0) <= now:
                        break
                else:  # every replica failed lately: plain round robin
                    index = (self._current + 1) % len(self.addresses)
                self._current = index
            return self._stubs_for(self.addresses[self._current])

    def mark_down(self, address: str) -> None:
        """Note that `address` just failed: the next call goes elsewhere."""
        with self._lock:
            self._down_until[address] = time.monotonic() + _DOWN_SECONDS
            # Balanced calls step forward and pass over it anyway.
            if not self._balance and self.addresses[self._current] == address:
                self._current = (self._current + 1) % len(self.addresses)

    def call(self, fn: Callable[[SchedulerStubs], T]) -> T:
        """Run `fn` with a replica's stubs, trying the next replica while they are down."""
        deadline = time.monotonic() + self._failover_s
        delay = 0.05
        tried = 0
        while True:
            stubs = self.pick()
            try:
                return fn(stubs)
            except grpc.RpcError as err:
                if err.code() not in RETRYABLE_CODES or time.monotonic() > deadline:
                    raise
                self.mark_down(stubs.address)
                tried += 1
                if tried % len(self.addresses) == 0:  # every replica failed once: back off
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)

    def ensure_document(self, run_id: str) -> bool:
        """Ask for a run's store document (see StoreClient's `ensure_document`); False when
        the run ended without one, or is unknown."""
        request = scheduler_pb2.EnsureDocumentRequest(run_id=run_id)
        response = self.call(
            lambda stubs: stubs.signal.EnsureDocument(request, timeout=_ENSURE_TIMEOUT_S)
        )
        return bool(response.available)

    def read_meta(self, run_id: str, key: str) -> scheduler_pb2.ReadMetaResponse:
        """The value at `key` of a run's meta section as the schedulers hold it
        (SignalService.ReadMeta; see StoreClient's `read_meta`)."""
        request = scheduler_pb2.ReadMetaRequest(run_id=run_id, key=key)
        response: scheduler_pb2.ReadMetaResponse = self.call(
            lambda stubs: stubs.signal.ReadMeta(request, timeout=_READ_META_TIMEOUT_S)
        )
        return response

    def close(self) -> None:
        """Close every channel; the object opens new ones if used again."""
        with self._lock:
            for stubs in self._stubs.values():
                stubs.channel.close()
            self._stubs.clear()
