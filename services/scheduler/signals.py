"""What running tasks ask of the schedulers about their run (SignalService): start a DAG
instance, wait for instances to end, stop one, and ask whether their run or instance was
stopped."""

from __future__ import annotations

import time
from typing import Any

from lightflow_scheduler.config import SchedulerConfig
from lightflow_scheduler.errors import NotFoundError, UnknownDagError, require_run_id
from lightflow_scheduler.keys import Keys
from lightflow_scheduler.registry import Registry
from lightflow_scheduler.schema import DagField, RunField
from lightflow_scheduler.scripts import Scripts
from lightflow_scheduler.seals import DataSeal

# How long a JoinDags call waits when it does not say, and at most: the task calls again
# while the instances run, so that no call outlives a replica by long.
_JOIN_WAIT_MS = 10_000
_MAX_JOIN_WAIT_MS = 30_000


class Signals:
    def __init__(
        self,
        config: SchedulerConfig,
        client: Any,
        keys: Keys,
        scripts: Scripts,
        registry: Registry,
        seal: DataSeal,
    ) -> None:
        self._config = config
        self._redis = client
        self._keys = keys
        self._scripts = scripts
        self._registry = registry
        self._seal = seal

    def start_dag(
        self,
        run_id: str,
        dag_name: str,
        data: bytes,
        data_in_blob: bool,
        request_id: str = "",
        started_by: str = "",
    ) -> str:
        """Starts an instance of the DAG with `data` (a serialized Payload, or b''), for the
        task `started_by` ("<instance>/<task>", shown in GetRun); its name, or '' when the
        run is not running."""
        require_run_id(run_id)
        try:
            return self._scripts.start_dag(
                run_id=run_id,
                dag=dag_name,
                data=self._seal.seal(run_id, data) if data else b"",
                request_id=request_id,
                data_in_blob=data_in_blob,
                max_instances=self._config.max_dag_instances,
                started_by=started_by,
            )
        except UnknownDagError as err:
            definition = self._redis.hget(self._keys.run(run_id), RunField.DEFINITION)
            graph = self._registry.graph(definition.decode() if definition else "")
            raise NotFoundError(
                f"workflow '{graph.definition.name}' has no DAG named '{dag_name}'"
                f" (its DAGs: {', '.join(graph.dags)})"
            ) from err

    def join_dags(self, run_id: str, instances: list[str], caller: str, wait_ms: int) -> bool:
        """True once every instance ended (or the run stops); False after `wait_ms` (0: the
        default; at most 30 s)."""
        require_run_id(run_id)
        wait_ms = min(wait_ms or _JOIN_WAIT_MS, _MAX_JOIN_WAIT_MS)
        deadline = time.monotonic() + wait_ms / 1000
        events = self._keys.run_events(run_id)
        last = self._redis.xrevrange(events, count=1)
        # Events after this id wake us; reading it before the check closes the race.
        cursor = last[0][0].decode() if last else "0-0"
        while True:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hget(self._keys.run(run_id), RunField.STATUS)
            pipe.hgetall(self._keys.run_dags(run_id))
            status, dags_raw = pipe.execute()
            if status is None:
                raise NotFoundError(f"run '{run_id}' not found")
            if status != b"running":
                return True
            dags = {k.decode(): v.decode() for k, v in dags_raw.items()}
            targets = instances or [d for d in dags if "|" not in d and d != caller]
            unknown = [i for i in targets if i not in dags]
            if unknown:
                raise NotFoundError(f"run '{run_id}' has no DAG instance {', '.join(unknown)}")
            if all(dags[i] != "running" for i in targets):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            reply = self._redis.xread(
                {events: cursor}, count=1000, block=max(1, int(remaining * 1000))
            )
            if reply:
                cursor = reply[0][1][-1][0].decode()

    def stop_dag(self, run_id: str, instance: str) -> None:
        require_run_id(run_id)
        self._scripts.stop_dag(run_id=run_id, instance=instance)

    def is_stopped(self, run_id: str, instance: str) -> tuple[bool, bool]:
        """(run stopping or over, DAG instance stopping or over)."""
        require_run_id(run_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(self._keys.run(run_id), RunField.STATUS)
        pipe.hmget(self._keys.run_dags(run_id), [instance, f"{instance}{DagField.STOP}"])
        status, (dag_status, dag_stop) = pipe.execute()
        if status is None:
            raise NotFoundError(f"run '{run_id}' not found")
        if instance and dag_status is None:
            raise NotFoundError(f"run '{run_id}' has no DAG instance '{instance}'")
        run_stopped = status != b"running"
        dag_stopped = bool(instance) and (dag_status != b"running" or dag_stop is not None)
        return run_stopped, run_stopped or dag_stopped
