"""The scheduler's configuration: one frozen value, filled once in main()."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lightflow_scheduler.redis_client import Durability, RedisTarget


@dataclass(frozen=True)
class SchedulerConfig:
    # "host:port" to serve on; loopback unless told otherwise.
    listen: str = "127.0.0.1:50051"
    # Where all run state lives.
    redis_url: str = "redis://127.0.0.1:6379/0"
    # redis' password (LIGHTFLOW_REDIS_PASSWORD or a file; never on the command line).
    redis_password: str | None = field(default=None, repr=False)
    # Redis Sentinel addresses: when set, the primary they name `redis_sentinel_service` is
    # used (and followed through a failover) instead of the URL's host and port.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_service: str = "mymaster"
    # Replicas that must have each state transition before it is acknowledged (redis WAIT,
    # up to redis_wait_timeout_ms); 0: none (asynchronous replication).
    redis_wait_replicas: int = 0
    redis_wait_timeout_ms: int = 1000
    # The store service, for creating and removing run documents; also told to workers.
    store_address: str = "127.0.0.1:50070"
    # Shared token every call must carry; None: no check (loopback development).
    token: str | None = None
    # Prefix of every redis key, so several stacks can share one redis.
    namespace: str = "lf"
    # A leased task whose worker sends no heartbeat for this long is handed out again.
    lease_timeout_s: float = 15.0
    # After this many lost leases a task fails instead of being handed out again.
    max_attempts: int = 5
    # Seconds a stopped run's (or DAG instance's) running tasks get to finish before their
    # workers are told to end them.
    stop_grace_s: float = 30.0
    # A run's store document is created this long after the run starts (a run that ends
    # sooner, keeps no data and never touches the store has none); a store user asks for it
    # earlier (SignalService.EnsureDocument), and a run with arguments gets it at once.
    document_delay_s: float = 1.0
    # How long an ended run's state and events stay readable.
    retention_s: int = 24 * 3600
    # Lines a run keeps of what its tasks printed: past this the oldest are trimmed (its
    # transitions never are).
    max_output_lines: int = 10_000
    # DAG instances a run may start (signal.start_dag included): a sub-DAG that starts
    # itself without end fails its task here instead of filling redis.
    max_dag_instances: int = 1_000
    ready_file: Path | None = None
    log_level: str = "info"

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
