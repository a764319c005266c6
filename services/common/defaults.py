"""The defaults more than one part of Lightflow states, written once: the services' config
dataclasses (and so their command lines) and lfctl's config file (`lfctl config default`,
`lfctl config list`, `lfctl scheduler|store|worker start`) read them here."""

from __future__ import annotations

from typing import Final

# Where a scheduler replica serves.
SCHEDULER_LISTEN: Final = "127.0.0.1:50051"
# Where the web dashboard and HTTP API serve.
WEB_LISTEN: Final = "127.0.0.1:50080"
# The store service: where it serves, and so where the schedulers look for it.
STORE_ADDRESS: Final = "127.0.0.1:50070"
# The redis holding all run state, and the name Redis Sentinel monitors its primary under.
REDIS_URL: Final = "redis://127.0.0.1:6379/0"
REDIS_SENTINEL_SERVICE: Final = "mymaster"
# Replicas each state transition must reach before it is acknowledged (redis WAIT).
REDIS_WAIT_REPLICAS: Final = 0
# Prefix of every redis key.
NAMESPACE: Final = "lf"
# Seconds without a heartbeat before a leased task is handed out again.
LEASE_TIMEOUT_S: Final = 15.0
# Seconds a stopped run's running tasks get to finish before they are ended.
STOP_GRACE_S: Final = 30.0
# Seconds an ended run's state, events and printed lines stay readable.
RETENTION_S: Final = 24 * 3600
# Printed lines a run keeps (the oldest are trimmed first).
MAX_OUTPUT_LINES: Final = 10_000
# DAG instances one run may start.
MAX_DAG_INSTANCES: Final = 1_000
# The database holding the run documents.
STORE_DATABASE: Final = "lightflow"
# A worker: its queues, task slots, and where its health service listens.
WORKER_QUEUES: Final = ("task",)
WORKER_CONCURRENCY: Final = 4
WORKER_LISTEN: Final = "127.0.0.1:0"
# What a task may print: line length in characters, lines and bytes a second.
MAX_LINE_CHARS: Final = 8192
OUTPUT_LINES_PER_S: Final = 1000.0
OUTPUT_BYTES_PER_S: Final = 1024 * 1024.0
# The services' log level.
LOG_LEVEL: Final = "info"
