"""The scheduler's configuration: one frozen value, filled once in main()."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lightflow_common import defaults
from lightflow_scheduler.redis_client import Durability, RedisTarget

if TYPE_CHECKING:
    from lightflow._tls import TlsOptions
    from lightflow_common.tls import ServerTls


@dataclass(frozen=True)
class SchedulerConfig:
    # "host:port" to serve on; loopback unless told otherwise.
    listen: str = defaults.SCHEDULER_LISTEN
    # Where all run state lives.
    redis_url: str = defaults.REDIS_URL
    # redis' password (LIGHTFLOW_REDIS_PASSWORD or a file; never on the command line).
    redis_password: str | None = field(default=None, repr=False)
    # Redis Sentinel addresses: when set, the primary they name `redis_sentinel_service` is
    # used (and followed through a failover) instead of the URL's host and port.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_service: str = defaults.REDIS_SENTINEL_SERVICE
    # Replicas that must have each state transition before it is acknowledged (redis WAIT,
    # up to redis_wait_timeout_ms); 0: none (asynchronous replication).
    redis_wait_replicas: int = defaults.REDIS_WAIT_REPLICAS
    redis_wait_timeout_ms: int = 1000
    # The store service, for creating and removing run documents; also told to workers.
    store_address: str = defaults.STORE_ADDRESS
    # Shared token every call must carry; None: no check (loopback development).
    token: str | None = None
    # Prefix of every redis key, so several stacks can share one redis.
    namespace: str = defaults.NAMESPACE
    # A leased task whose worker sends no heartbeat for this long is handed out again.
    lease_timeout_s: float = defaults.LEASE_TIMEOUT_S
    # After this many lost leases a task fails instead of being handed out again.
    max_attempts: int = 5
    # Seconds a stopped run's (or DAG instance's) running tasks get to finish before their
    # workers are told to end them.
    stop_grace_s: float = defaults.STOP_GRACE_S
    # A run's store document is created this long after the run starts (a run that ends
    # sooner, keeps no data and never touches the store has none); a store user asks for it
    # earlier (SignalService.EnsureDocument), and a run with arguments gets it at once.
    document_delay_s: float = 1.0
    # How long an ended run's state and events stay readable.
    retention_s: int = defaults.RETENTION_S
    # Lines a run keeps of what its tasks printed: past this the oldest are trimmed (its
    # transitions never are).
    max_output_lines: int = defaults.MAX_OUTPUT_LINES
    # DAG instances a run may start (signal.start_dag included): a sub-DAG that starts
    # itself without end fails its task here instead of filling redis.
    max_dag_instances: int = defaults.MAX_DAG_INSTANCES
    ready_file: Path | None = None
    log_level: str = defaults.LOG_LEVEL
    # TLS: what it serves with, and how it calls the store (None: plain TCP).
    serving_tls: ServerTls | None = None
    calling_tls: TlsOptions | None = None

    @property
    def redis_target(self) -> RedisTarget:
        return RedisTarget(
            url=self.redis_url,
            password=self.redis_password,
            sentinels=self.redis_sentinels,
            sentinel_service=self.redis_sentinel_service,
        )

    @property
    def redis_durability(self) -> Durability:
        return Durability(self.redis_wait_replicas, self.redis_wait_timeout_ms)
