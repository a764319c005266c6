"""gRPC plumbing shared by the SDK, the services and the CLI: channel options, the shared
token in call metadata, and turning server errors into exceptions a person can read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc
import grpc.experimental

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

SERVER_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
    # Several replicas may listen on one host in tests; never share a port by accident.
    ("grpc.so_reuseport", 0),
]

TOKEN_METADATA_KEY = "authorization"  # noqa: S105 - a header name, not a secret

# Status codes worth trying on another replica: the call did not reach a working server.
# (Not DEADLINE_EXCEEDED: the call may have taken effect, and not every call is idempotent.)
RETRYABLE_CODES = frozenset({grpc.StatusCode.UNAVAILABLE})


def token_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return ((TOKEN_METADATA_KEY, f"Bearer {token}"),) if token else ()


class _TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds the shared token to every call, so call sites need not remember it."""

    def __init__(self, token: str) -> None:
        self._metadata = token_metadata(token)

    def _details(self, details: Any) -> Any:
        metadata = tuple(details.metadata or ()) + self._metadata
        return details._replace(metadata=metadata)

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(
        self, continuation: Callable[..., Any], details: Any, requests: Any
    ) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(
        self, continuation: Callable[..., Any], details: Any, requests: Any
    ) -> Any:
        return continuation(self._details(details), requests)


def open_channel(address: str, token: str | None = None) -> grpc.Channel:
    """A channel to one service address ("host:port"), carrying the token when given."""
    channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    if token:
        channel = grpc.intercept_channel(channel, _TokenInterceptor(token))
    return channel


def split_addresses(addresses: str | Sequence[str]) -> list[str]:
    """Accept "a:1,b:2" or ["a:1", "b:2"]."""
    if isinstance(addresses, str):
        addresses = addresses.split(",")
    result = [a.strip() for a in addresses if a.strip()]
    if not result:
        raise ValueError("no scheduler address given")
    return result
