"""The store service's configuration, filled once in `main()`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lightflow_common import defaults

if TYPE_CHECKING:
    from lightflow_common.tls import ServerTls


@dataclass(frozen=True)
class StoreConfig:
    # "host:port" to serve on; port 0 picks a free port (written to `ready_file`).
    listen: str = defaults.STORE_ADDRESS
    # Shared token every caller must present; None: no check.
    token: str | None = None
    # MongoDB connection string; None: the embedded store.
    mongodb_uri: str | None = None
    # Folder of the embedded store; None: in memory, gone when the process ends.
    data_dir: Path | None = None
    # Database and collection holding one document per run.
    database: str = defaults.STORE_DATABASE
    collection: str = "runs"
    # Binary values larger than this many bytes are kept outside the document.
    inline_limit: int = 1024 * 1024
    # Blobs (task data) of a run without a store document, untouched for this many
    # seconds, are removed; 0: never (a run's end still removes its blobs).
    blob_max_idle_seconds: float = 7 * 24 * 3600.0
    # The bound address is written here once the service is SERVING.
    ready_file: Path | None = None
    log_level: str = defaults.LOG_LEVEL
    # What it serves TLS with; None: plain TCP.
    serving_tls: ServerTls | None = None
