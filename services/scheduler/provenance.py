"""A run's provenance: the `meta` section of its store document (layout: lightflow/_wire/meta.py),
built from the run's state in redis by meta.py. A live run's section is read from redis, so
a reader sees every transition recorded before its call; once the run ended and its section
was written into its store document (documents.py), it is read from the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bson
import structlog

from lightflow._wire.encodings import BSON_FIELD
from lightflow._wire.meta import unescape
from lightflow_scheduler import meta
from lightflow_scheduler.errors import InvalidArgumentError
from lightflow_scheduler.keys import Keys, is_run_id
from lightflow_scheduler.model import MetaRead
from lightflow_scheduler.redis_client import text
from lightflow_scheduler.registry import Registry
from lightflow_scheduler.schema import FINAL_RUN_STATES, DagField, RunField
from lightflow_scheduler.seals import DataSeal

log = structlog.get_logger(__name__)

# The fields of a run's hash its provenance is made of (with its DAGs' and tasks' hashes).
_RUN_FIELDS = (
    RunField.WORKFLOW,
    RunField.DEFINITION,
    RunField.STATUS,
    RunField.STARTED,
    RunField.ENDED,
)


def _decoded(fields: Mapping[bytes, bytes]) -> dict[str, str]:
    return {name.decode(): value.decode() for name, value in fields.items()}


class Provenance:
    def __init__(self, client: Any, keys: Keys, registry: Registry, seal: DataSeal) -> None:
        self._redis = client
        self._keys = keys
        self._registry = registry
        self._seal = seal

    def read(self, run_id: str, key: str) -> MetaRead:
        """`key` of the run's meta section, answered from redis while the schedulers hold it
        (a live run; an ended run that keeps its data until its section was written; an
        ended run that kept none while its state is retained, which the dashboard shows);
        otherwise to be read from the store (written, or not a run known here)."""
        if not run_id:
            raise InvalidArgumentError("run_id is empty")
        try:
            segments = meta.split_key(key, run_id)
        except meta.MetaKeyError as err:
            raise InvalidArgumentError(str(err)) from err
        if not is_run_id(run_id):
            return MetaRead(in_store=True)  # no run of ours: the store knows, or NOT_FOUND
        fields: list[bytes | None] = self._redis.hmget(
            self._keys.run(run_id), [*_RUN_FIELDS, RunField.KEEP, RunField.META]
        )
        run = dict(zip(_RUN_FIELDS, fields, strict=False))
        keep, written = fields[-2:]
        if run[RunField.WORKFLOW] is None:
            return MetaRead(in_store=True)
        if text(run[RunField.STATUS]) in FINAL_RUN_STATES and keep == b"1" and written is not None:
            return MetaRead(in_store=True)
        section = self._section(run_id, run, segments)
        found, value = meta.navigate(section, segments)
        return MetaRead(False, found, bson.encode({BSON_FIELD: value}) if found else b"")

    def whole_section(self, run_id: str) -> dict[str, Any] | None:
        """The run's whole section (None for a run redis no longer holds)."""
        fields = self._redis.hmget(self._keys.run(run_id), _RUN_FIELDS)
        if fields[0] is None:
            return None
        return self._section(run_id, dict(zip(_RUN_FIELDS, fields, strict=True)), [])

    def _section(
        self, run_id: str, fields: Mapping[str, bytes | None], segments: list[str]
    ) -> dict[str, Any]:
        """The section, or as much of it as `segments` needs: the run's entries alone for a
        key outside `log`, one DAG instance's for a key inside it (bounded by its DAG's
        size), all of it otherwise. `fields` are the run hash's _RUN_FIELDS."""
        run = {name: text(value) for name, value in fields.items()}
        if segments and segments[0] != "log":
            wanted = segments[0] == "arguments"
            return meta.run_entries(run_id, run, self._arguments(run_id) if wanted else {})
        section = meta.run_entries(run_id, run, {} if segments else self._arguments(run_id))
        if len(segments) >= 2:
            section["log"] = self._instance_log(run_id, run[RunField.DEFINITION], segments)
            return section
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._keys.run_dags(run_id))
        pipe.hgetall(self._keys.run_tasks(run_id))
        dags_raw, tasks_raw = pipe.execute()
        section["log"] = meta.log_entries(_decoded(dags_raw), _decoded(tasks_raw))
        return section

    def _instance_log(
        self, run_id: str, definition_hash: str, segments: list[str]
    ) -> dict[str, Any]:
        """`log` with one DAG instance (segments[1]), its tasks (or only segments[3], for a key
        under `log.<instance>.tasks.<task>`)."""
        instance = unescape(segments[1])
        dag_fields = meta.instance_fields(instance)
        raw = self._redis.hmget(self._keys.run_dags(run_id), dag_fields)
        dags = {name: text(value) for name, value in zip(dag_fields, raw, strict=True) if value}
        if instance not in dags:
            return {}
        if len(segments) >= 4 and segments[2] == "tasks":
            names = [unescape(segments[3])]
        elif len(segments) == 2 or segments[2] == "tasks":
            graph = self._registry.graph(definition_hash)
            dag = graph.dags.get(dags.get(f"{instance}{DagField.DAG}", instance))
            names = list(dag.tasks) if dag is not None else []
        else:
            names = []
        task_fields = meta.task_fields(instance, names)
        raw = self._redis.hmget(self._keys.run_tasks(run_id), task_fields) if names else []
        tasks = {name: text(value) for name, value in zip(task_fields, raw, strict=True) if value}
        return meta.log_entries(dags, tasks)

    def _arguments(self, run_id: str) -> dict[str, Any]:
        """The run's arguments as its store document holds them (BSON; a value that is not
        BSON-native stays a payload sub-document: the schedulers never unpickle)."""
        sealed = self._redis.hget(self._keys.run(run_id), RunField.ARGUMENTS)
        if not sealed:
            return {}
        raw = self._seal.unseal(run_id, sealed)
        if raw is None:
            log.error("run_arguments_unsealed", run_id=run_id)
            return {}
        arguments: dict[str, Any] = bson.decode(raw)
        return arguments
