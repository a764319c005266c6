"""The scheduler's redis client: one redis named by a URL, or the primary a Redis Sentinel
group names (followed through a failover), with a password that never travels in a URL
on a command line, and optionally a `WAIT` for replicas after every state transition."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
import redis.client
import redis.sentinel
import structlog

from lightflow_common import defaults

log = structlog.get_logger(__name__)

# The longest blocking read the scheduler issues is a JoinDags wait of 30 s: a socket must
# stay quiet a little longer than that before it counts as dead.
SOCKET_TIMEOUT_S = 35.0
CONNECT_TIMEOUT_S = 5.0
# A primary that vanishes without closing its sockets (a host lost, a cable pulled) is found
# by TCP keepalive in about 5 + 3 x 2 = 11 s, even under a blocking read; a killed process
# closes them, and the reader sees it at once.
_KEEPALIVE: dict[int, int] = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 5), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}
# Commands after which a WAIT holds the answer until replicas have the write: the Lua
# scripts (every run, DAG and task transition is one) and MULTI/EXEC transactions (a
# workflow's registration).
_DURABLE = frozenset({"EVALSHA", "EVAL"})
# How often the number of connected replicas is asked when waiting for them.
_ROLE_CHECK_S = 1.0


class RedisConfigError(ValueError):
    """A redis target that cannot be used (a malformed sentinel address)."""


@dataclass(frozen=True)
class RedisTarget:
    """Where the run state lives: `url`, or, when `sentinels` is set, the primary the
    sentinels name `sentinel_service` (the URL's database number still applies)."""

    url: str = defaults.REDIS_URL
    # AUTH password of the data nodes (and of the sentinels, unless `sentinel_password`).
    password: str | None = field(default=None, repr=False)
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_service: str = defaults.REDIS_SENTINEL_SERVICE
    # The sentinels' own password when it differs from the data nodes'.
    sentinel_password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Durability:
    """`replicas` > 0: after each state transition the scheduler waits (up to `timeout_ms`)
    until that many replicas have it, before it answers. 0: no wait (asynchronous
    replication may lose the last transitions acknowledged before a failover)."""

    replicas: int = 0
    timeout_ms: int = 1000


# What XREAD and XREADGROUP answer (replies not decoded): [(stream, [(entry id, fields)])].
StreamReply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]


def text(value: bytes | None) -> str:
    """A reply's bytes as text; '' for none."""
    return value.decode() if value is not None else ""


def redis_error_code(err: redis.ResponseError) -> str:
    """The code redis starts an error with (BUSYGROUP, NOGROUP, WRONGTYPE, ...)."""
    return str(err).partition(" ")[0]


def parse_sentinels(text: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` -> ((host, port), ...); empty -> ()."""
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise RedisConfigError(f"sentinel address '{item}' is not host:port")
        found.append((host.strip("[]"), int(port)))
    return tuple(found)


class _Waiter:
    """Waits, after a write on a connection, until the replicas present have it. Replicas
    that are gone are not waited for (a primary promoted by a failover has none until the
    old one returns): waiting out the timeout on every transition would stall every run
    and expire leases. How many replicas are connected is asked (ROLE) once a second."""

    def __init__(self, durability: Durability) -> None:
        self.durability = durability
        self._present = durability.replicas
        self._checked = 0.0

    def _replicas(self, connection: Any) -> int:
        now = time.monotonic()
        if now - self._checked >= _ROLE_CHECK_S:
            connection.send_command("ROLE")
            role = connection.read_response()
            present = len(role[2]) if role and role[0] in (b"master", "master") else 0
            if present < self.durability.replicas and present != self._present:
                log.warning(
                    "redis_replicas_missing", wanted=self.durability.replicas, present=present
                )
            self._present, self._checked = present, now
        return min(self.durability.replicas, self._present)

    def after_write(self, connection: Any) -> None:
        wanted = self._replicas(connection)
        if wanted <= 0:
            return
        connection.send_command("WAIT", wanted, self.durability.timeout_ms)
        acknowledged = int(connection.read_response())
        if acknowledged < wanted:
            # The write is on the primary only: a failover now could lose it. The call
            # still succeeds (availability first); the log says it happened.
            log.warning("redis_wait_short", wanted=wanted, acknowledged=acknowledged)
            self._checked = 0.0  # a replica may be gone: ask again before the next wait


class _WaitingPipeline(redis.client.Pipeline):
    waiter: _Waiter | None = None

    def _execute_transaction(self, connection: Any, commands: Any, raise_on_error: Any) -> Any:
        response = super()._execute_transaction(connection, commands, raise_on_error)
        if self.waiter is not None:
            self.waiter.after_write(connection)
        return response


class WaitingRedis(redis.Redis):
    """A client that follows every script call and MULTI/EXEC with `WAIT replicas timeout`
    on the same connection (WAIT counts the writes of its own connection)."""

    waiter: _Waiter | None = None

    def parse_response(self, connection: Any, command_name: Any, **options: Any) -> Any:
        response = super().parse_response(  # type: ignore[no-untyped-call]
            connection, command_name, **options
        )
        if command_name in _DURABLE and self.waiter is not None:
            self.waiter.after_write(connection)
        return response

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        pipe = _WaitingPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.waiter = self.waiter
        return pipe


def connect(
    target: RedisTarget,
    durability: Durability | None = None,
    *,
    socket_timeout: float = SOCKET_TIMEOUT_S,
    health_check_interval: int = 10,
) -> redis.Redis:
    """A client of the target's primary. Through sentinels, a connection asks them where
    the primary is whenever it (re)connects, and one to a primary turned replica is dropped
    (redis-py turns READONLY into a ConnectionError): callers retry ConnectionError as they
    would for a restart."""
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": CONNECT_TIMEOUT_S,
        "socket_keepalive": True,
        "socket_keepalive_options": _KEEPALIVE,
        "health_check_interval": health_check_interval,
    }
    if target.password:
        options["password"] = target.password
    waiting = durability is not None and durability.replicas > 0
    redis_class: type[redis.Redis] = WaitingRedis if waiting else redis.Redis
    if not target.sentinels:
        client = redis_class.from_url(target.url, **options)
    else:
        db = int(urlsplit(target.url).path.strip("/") or 0)
        sentinel_password = target.sentinel_password or target.password
        sentinel = redis.sentinel.Sentinel(
            list(target.sentinels),
            sentinel_kwargs={
                "password": sentinel_password,
                "socket_timeout": CONNECT_TIMEOUT_S,
                "socket_connect_timeout": CONNECT_TIMEOUT_S,
            },
        )
        client = sentinel.master_for(
            target.sentinel_service, redis_class=redis_class, db=db, **options
        )
    if waiting and isinstance(client, WaitingRedis):
        assert durability is not None
        client.waiter = _Waiter(durability)
    return client
