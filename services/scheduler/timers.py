"""The scheduler's timers, never on a task's path: retries whose delay passed, runs past
their deadline, store documents that are due (every replica fires them; the scripts let one
win each), and the sweep (one replica at a time, under a lock): leases that expired, and the
clean-up of ended runs."""

from __future__ import annotations

import time
from typing import Any

import redis
import structlog

from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.dispatch import Dispatch
from lightflow_scheduler.documents import Documents
from lightflow_scheduler.keys import QUEUE_GROUP, Keys
from lightflow_scheduler.locks import RedisLock
from lightflow_scheduler.model import Failure, QueueEntry
from lightflow_scheduler.redis_client import redis_error_code
from lightflow_scheduler.schedules import Schedules
from lightflow_scheduler.schema import FINAL_RUN_STATES
from lightflow_scheduler.scripts import RequeueWhy, Scripts

log = structlog.get_logger(__name__)

_DEADLINE_FAILURE = Failure("RunDeadlineExceeded", "the run passed its deadline", "").to_json()


class Timers:
    def __init__(
        self,
        config: SchedulerConfig,
        client: Any,
        keys: Keys,
        scripts: Scripts,
        documents: Documents,
        dispatch: Dispatch,
        schedules: Schedules,
    ) -> None:
        self._config = config
        self._redis = client
        self._keys = keys
        self._scripts = scripts
        self._documents = documents
        self._dispatch = dispatch
        self._schedules = schedules
        self._lease_ms = int(config.lease_timeout_s * 1000)

    def fire_due(self) -> float:
        """Starts the scheduled runs whose time came, queues the retries whose delay passed,
        stops the runs past their deadline and creates the store documents that are due;
        returns the seconds until the next is due (at most 1)."""
        keys = self._keys
        now = int(time.time() * 1000)
        for raw in self._redis.zrangebyscore(keys.run_starts, "-inf", now, start=0, num=100):
            # Any replica's timer; begin_run.lua starts each once.
            if self._scripts.begin_run(run_id=raw.decode()) in FINAL_RUN_STATES:
                self._documents.clean_up_soon(raw.decode())  # a run with no autostart DAG
        self._schedules.fire_due(now)
        self._documents.create_due(now)
        for member in self._redis.zrangebyscore(keys.delayed, "-inf", now, start=0, num=100):
            self._scripts.promote(member=member)
        for raw in self._redis.zrangebyscore(keys.deadlines, "-inf", now, start=0, num=100):
            run_id = raw.decode()
            status = self._scripts.deadline(run_id=run_id, failure=_DEADLINE_FAILURE)
            if status in FINAL_RUN_STATES:
                self._documents.clean_up_soon(run_id)
        upcoming = [
            float(score)
            for key in (
                keys.run_starts,
                keys.schedule_due,
                keys.delayed,
                keys.deadlines,
                keys.documents_due,
            )
            for _, score in self._redis.zrange(key, 0, 0, withscores=True)
        ]
        if not upcoming:
            return 1.0
        return max(0.0, min(1.0, (min(upcoming) - time.time() * 1000) / 1000))

    def sweep(self) -> None:
        """Hands out again what lost its lease, and finishes ended runs' clean-up. One
        replica at a time does it (lock); any replica may."""
        with RedisLock(self._redis, self._keys.lock("sweeper"), self._lease_ms) as owned:
            if not owned:
                return
            self._reclaim_expired_leases()
            self._finish_cleanups()

    def _reclaim_expired_leases(self) -> None:
        for raw_queue in self._redis.smembers(self._keys.queues):
            queue = raw_queue.decode()
            key = self._keys.queue(queue)
            cursor = "0-0"
            while True:
                try:
                    reply = self._redis.xautoclaim(
                        key, QUEUE_GROUP, "sweeper", self._lease_ms, cursor, count=100
                    )
                except redis.ResponseError as err:
                    if redis_error_code(err) == "NOGROUP":
                        break
                    raise
                cursor, claimed = reply[0].decode(), reply[1]
                for entry_id, fields in claimed:
                    if not fields:
                        self._redis.xack(key, QUEUE_GROUP, entry_id)
                        continue
                    entry = QueueEntry.from_fields(queue, entry_id, fields)
                    outcome = self._dispatch.requeue(entry, RequeueWhy.EXPIRED)
                    log.warning(
                        "lease_expired",
                        run_id=entry.run_id,
                        task=f"{entry.instance}/{entry.task}",
                        attempt=str(entry.attempt),
                        outcome=outcome.value,
                    )
                if cursor == "0-0":
                    break

    def _finish_cleanups(self) -> None:
        for run_id in self._redis.zrange(self._keys.cleanup, 0, 99):
            self._documents.clean_up(run_id.decode())
        horizon = int(time.time() * 1000) - self._config.retention_s * 1000
        self._redis.zremrangebyscore(self._keys.runs, "-inf", horizon)
