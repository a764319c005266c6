"""gRPC plumbing shared by the SDK, the services and the CLI: channel options, the shared
token in call metadata, and turning server errors into exceptions a person can read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
import grpc.experimental

from lightflow._wire.headers import TOKEN_HEADER, bearer

# Task data travels inside gRPC messages; gRPC's 4 MiB default would cap it.
MAX_MESSAGE_BYTES = 512 * 1024 * 1024

CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly after a replica restarts instead of backing off for up to 2 minutes.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    # Server streams (WatchRun) read on the caller's thread, not through the channel's spin
    # thread: one thread hand-off less per message.
    (grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1),
]

# A service's receive limit is its own (ServeOptions.max_receive_bytes): what its RPCs need.
SERVER_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
    # Several replicas may listen on one host in tests; never share a port by accident.
    ("grpc.so_reuseport", 0),
]

# Status codes worth trying again (on another replica, or once a restarting service is back):
# the call did not reach a working server. A server that shuts down (SIGTERM) cancels the
# calls it has not started (CANCELLED; our clients never cancel their own unary calls) and
# gives the started ones its grace period. (Not DEADLINE_EXCEEDED: the call may have taken
# effect, and not every call is idempotent.)
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


def token_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return ((TOKEN_HEADER, bearer(token)),) if token else ()


class CurrentCredential:
    """A bearer credential that changes over a channel's life: a task process holds its
    current task's run credential here, and its channels send whatever it holds now."""

    def __init__(self, value: str = "") -> None:
        self.value = value

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return token_metadata(self.value)


Bearer = str | CurrentCredential | None


class TokenChannel(grpc.Channel):  # type: ignore[misc]
    """A channel that adds the shared token (if any) to every call's metadata, so call sites
    need not remember it. (grpc's client interceptors do the same for about 30 us of CPU and
    50 us of latency more per call, measured on a unary call here.) A server stream holds on
    to its channel: with SingleThreadedUnaryStream a stream whose channel was collected
    fails ("closed channel")."""

    def __init__(self, channel: grpc.Channel, token: Bearer) -> None:
        self._channel = channel
        self._metadata: Callable[[], tuple[tuple[str, str], ...]]
        if isinstance(token, CurrentCredential):
            self._metadata = token.metadata
        else:
            fixed = token_metadata(token)
            self._metadata = lambda: fixed

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _WithToken(self._channel.unary_unary(method, *args, **kwargs), self._metadata)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        multicallable = self._channel.unary_stream(method, *args, **kwargs)
        return _WithToken(multicallable, self._metadata, owner=self)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return _WithToken(self._channel.stream_unary(method, *args, **kwargs), self._metadata)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        multicallable = self._channel.stream_stream(method, *args, **kwargs)
        return _WithToken(multicallable, self._metadata, owner=self)

    def subscribe(self, callback: Callable[..., Any], try_to_connect: bool = False) -> None:
        self._channel.subscribe(callback, try_to_connect)

    def unsubscribe(self, callback: Callable[..., Any]) -> None:
        self._channel.unsubscribe(callback)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> TokenChannel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _WithToken:
    """A multi-callable whose calls carry the token; a stream call keeps `owner` alive."""

    __slots__ = ("_callable", "_metadata", "_owner")

    def __init__(
        self,
        multicallable: Any,
        metadata: Callable[[], tuple[tuple[str, str], ...]],
        owner: TokenChannel | None = None,
    ) -> None:
        self._callable = multicallable
        self._metadata = metadata
        self._owner = owner

    def _join(self, metadata: Sequence[tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
        return (*metadata, *self._metadata()) if metadata else self._metadata()

    def __call__(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kw: Any
    ) -> Any:
        call = self._callable(request, timeout=timeout, metadata=self._join(metadata), **kw)
        return call if self._owner is None else _Stream(call, self._owner)

    def with_call(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kw: Any
    ) -> Any:
        return self._callable.with_call(
            request, timeout=timeout, metadata=self._join(metadata), **kw
        )

    def future(
        self, request: Any, timeout: float | None = None, metadata: Any = None, **kw: Any
    ) -> Any:
        return self._callable.future(request, timeout=timeout, metadata=self._join(metadata), **kw)


class _Stream(grpc.Call):  # type: ignore[misc]
    """A stream call (an iterator and a grpc.Call) that keeps its channel alive."""

    def __init__(self, call: Any, owner: TokenChannel) -> None:
        self._call = call
        self._owner = owner

    def __iter__(self) -> _Stream:
        return self

    def __next__(self) -> Any:
        return next(self._call)

    def initial_metadata(self) -> Any:
        return self._call.initial_metadata()

    def trailing_metadata(self) -> Any:
        return self._call.trailing_metadata()

    def code(self) -> grpc.StatusCode:
        code: grpc.StatusCode = self._call.code()
        return code

    def details(self) -> str | None:
        details: str | None = self._call.details()
        return details

    def is_active(self) -> bool:
        return bool(self._call.is_active())

    def time_remaining(self) -> float | None:
        remaining: float | None = self._call.time_remaining()
        return remaining

    def cancel(self) -> bool:
        return bool(self._call.cancel())

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return bool(self._call.add_callback(callback))


def open_channel(address: str, token: Bearer = None) -> grpc.Channel:
    """A channel to one service address ("host:port"), carrying the token when given."""
    return TokenChannel(grpc.insecure_channel(address, options=CHANNEL_OPTIONS), token)


def split_addresses(addresses: str | Sequence[str]) -> list[str]:
    """Accept "a:1,b:2" or ["a:1", "b:2"]."""
    if isinstance(addresses, str):
        addresses = addresses.split(",")
    result = [a.strip() for a in addresses if a.strip()]
    if not result:
        raise ValueError("no scheduler address given")
    return result
