"""The scheduler's parts, wired together; none of them knows gRPC. Every state change is one
Lua script on redis (scripts.py), so any replica can serve any request and a replica that dies
mid-call leaves nothing half-done.

    registry    workflows: definitions, graphs, code seals, queue streams
    runs        start, read, list, stop and watch runs
    signals     what running tasks ask: start_dag, join_dags, stop_dag, is_stopped
    dispatch    leases, credit, results, printed lines, heartbeats, the workers' register
    documents   a run's store document: created late, removed (or kept) at the end
    provenance  a run's meta section, read from redis while the schedulers hold it
    schedules   runs that start themselves, each tick once, whichever replica fires it
    timers      retries, deadlines, scheduled starts and ticks, due documents, and the sweep
                (lost leases, clean-ups)
"""

from __future__ import annotations

from typing import Any

import redis

from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.dispatch import Dispatch
from lightflow_scheduler.documents import Documents, RunBlobs, RunStore
from lightflow_scheduler.keys import Keys
from lightflow_scheduler.provenance import Provenance
from lightflow_scheduler.registry import Registry
from lightflow_scheduler.runs import Runs
from lightflow_scheduler.schedules import Schedules
from lightflow_scheduler.scripts import Scripts
from lightflow_scheduler.seals import DataSeal
from lightflow_scheduler.signals import Signals
from lightflow_scheduler.timers import Timers


class SchedulerCore:
    def __init__(
        self, config: SchedulerConfig, client: redis.Redis, store: RunStore, blobs: RunBlobs
    ) -> None:
        self.config = config
        # redis-py types replies as unions of every possible shape; ours are fixed by the
        # commands (bytes, decode_responses off), so the parts use the client untyped.
        self.redis: Any = client
        keys = Keys(config.namespace)
        scripts = Scripts(client, config.namespace, config.retention_s)
        seal = DataSeal(config.token)
        self.registry = Registry(self.redis, keys, config.token)
        self.provenance = Provenance(self.redis, keys, self.registry, seal)
        self.documents = Documents(self.redis, keys, scripts, seal, store, blobs, self.provenance)
        self.runs = Runs(config, self.redis, keys, scripts, self.registry, self.documents, seal)
        self.signals = Signals(config, self.redis, keys, scripts, self.registry, seal)
        self.dispatch = Dispatch(
            config, self.redis, keys, scripts, self.registry, self.documents, seal
        )
        self.schedules = Schedules(self.redis, keys, scripts, self.runs)
        self.timers = Timers(
            config, self.redis, keys, scripts, self.documents, self.dispatch, self.schedules
        )

    def healthy(self) -> bool:
        return bool(self.redis.ping())
