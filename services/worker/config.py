"""The worker's configuration: one frozen value, filled once in main()."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lightflow._tls import TlsOptions
from lightflow_common import defaults
from lightflow_worker.output import OutputLimits

if TYPE_CHECKING:
    from lightflow_common.tls import ServerTls


@dataclass(frozen=True)
class WorkerConfig:
    # Scheduler replicas; the work stream goes to the first that answers, tasks' signal
    # calls prefer the next one (so load and failures spread).
    scheduler_addresses: tuple[str, ...]
    # Queues whose tasks this worker runs.
    queues: tuple[str, ...] = defaults.WORKER_QUEUES
    # Task slots: tasks running at once (a task blocked in join_dags gives its slot back).
    concurrency: int = defaults.WORKER_CONCURRENCY
    token: str | None = None
    worker_id: str = ""
    hostname: str = ""
    # Where the worker's own health service listens.
    listen: str = defaults.WORKER_LISTEN
    ready_file: Path | None = None
    # Seconds running tasks get to finish on SIGTERM.
    grace_s: float = 30.0
    log_level: str = defaults.LOG_LEVEL
    # TLS for the calls to the schedulers and the store (tasks' calls too); None: plain.
    tls: TlsOptions | None = None
    # What its health service serves TLS with; None: plain TCP.
    serving_tls: ServerTls | None = None
    # What a task may print: line length, rate; and how many lines wait for the stream.
    output_limits: OutputLimits = field(default_factory=OutputLimits)
