"""Calls to a set of equal scheduler replicas: use one, move to the next when it is down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import grpc

from lightflow._grpc import RETRYABLE_CODES, open_channel, split_addresses
from lightflow.v1 import scheduler_pb2_grpc

T = TypeVar("T")


class SchedulerStubs:
    """The stubs of one replica's channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.scheduler = scheduler_pb2_grpc.SchedulerServiceStub(channel)
        self.signal = scheduler_pb2_grpc.SignalServiceStub(channel)
        self.work = scheduler_pb2_grpc.WorkServiceStub(channel)


class Replicas:
    """Round-robin fail-over over scheduler replicas. A call that finds its replica
    unavailable is tried on the next one, for up to `failover_s` seconds in all; other
    errors (NOT_FOUND, INVALID_ARGUMENT, ...) are raised at once."""

    def __init__(
        self, addresses: str | Sequence[str], token: str | None = None, *, failover_s: float = 30.0
    ) -> None:
        self.addresses = split_addresses(addresses)
        self._token = token
        self._failover_s = failover_s
        self._stubs: dict[str, SchedulerStubs] = {}
        self._current = 0
        self._lock = threading.Lock()

    def stubs(self, index: int | None = None) -> SchedulerStubs:
        with self._lock:
            address = self.addresses[self._current if index is None else index]
            if address not in self._stubs:
                self._stubs[address] = SchedulerStubs(open_channel(address, self._token))
            return self._stubs[address]

    @property
    def current_address(self) -> str:
        return self.addresses[self._current]

    def advance(self) -> None:
        with self._lock:
            self._current = (self._current + 1) % len(self.addresses)

    def call(self, fn: Callable[[SchedulerStubs], T]) -> T:
        deadline = time.monotonic() + self._failover_s
        delay = 0.05
        tried = 0
        while True:
            try:
                return fn(self.stubs())
            except grpc.RpcError as err:
                if err.code() not in RETRYABLE_CODES or time.monotonic() > deadline:
                    raise
                self.advance()
                tried += 1
                if tried % len(self.addresses) == 0:  # every replica failed once: back off
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)

    def close(self) -> None:
        with self._lock:
            for stubs in self._stubs.values():
                stubs.channel.close()
            self._stubs.clear()
