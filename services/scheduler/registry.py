"""Registered workflows: their definitions (content-addressed, immutable), the graphs the
scripts walk, the seals of their tasks' code, and the queue streams their tasks go to."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import redis
import structlog

from lightflow.v1 import workflow_pb2
from lightflow_common.credentials import code_seal, derive_key
from lightflow_scheduler.errors import InvalidArgumentError, NotFoundError
from lightflow_scheduler.graph import WorkflowGraph, build_graph
from lightflow_scheduler.keys import QUEUE_GROUP, Keys
from lightflow_scheduler.model import WorkflowSummary
from lightflow_scheduler.redis_client import redis_error_code
from lightflow_scheduler.schema import WorkflowField

log = structlog.get_logger(__name__)


class Registry:
    def __init__(self, client: Any, keys: Keys, token: str | None) -> None:
        self._redis = client
        self._keys = keys
        # Seals the code of registered workflows; redis never sees it, so code written into
        # redis directly carries no valid seal and workers refuse it.
        self._code_key = derive_key(token, "code")
        self._graphs: dict[str, WorkflowGraph] = {}
        # Workflow name -> the definition hash last seen registered under it.
        self._registered: dict[str, str] = {}
        self._lock = threading.Lock()

    def graph(self, definition_hash: str) -> WorkflowGraph:
        """The graph of a registered definition; definitions never change once stored."""
        with self._lock:
            cached = self._graphs.get(definition_hash)
        if cached is not None:
            return cached
        raw = self._redis.get(self._keys.definition(definition_hash))
        if raw is None:
            raise NotFoundError(f"workflow definition {definition_hash} is not registered")
        definition = workflow_pb2.WorkflowDefinition.FromString(raw)
        graph = build_graph(definition)
        for field_name, sealed in self._redis.hgetall(self._keys.seals(definition_hash)).items():
            dag, _, task = field_name.decode().partition("/")
            graph.seals[(dag, task)] = sealed
        with self._lock:
            self._graphs[definition_hash] = graph
        return graph

    def register(self, definition: workflow_pb2.WorkflowDefinition) -> WorkflowGraph:
        try:
            graph = build_graph(definition)
        except ValueError as err:
            raise InvalidArgumentError(str(err)) from err
        summary = {
            WorkflowField.HASH: graph.definition_hash,
            WorkflowField.DESCRIPTION: definition.description,
            WorkflowField.DAGS: [d.name for d in definition.dags],
            WorkflowField.REGISTERED_MS: int(time.time() * 1000),
        }
        queues = sorted(graph.queues)
        for (dag, task), code in graph.code.items():
            graph.seals[(dag, task)] = code_seal(
                self._code_key,
                graph.definition_hash,
                dag,
                task,
                code,
                definition.source_path,
                definition.source,
            )
        keys = self._keys
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(keys.definition(graph.definition_hash), definition.SerializeToString())
        pipe.hset(
            keys.seals(graph.definition_hash),
            mapping={f"{dag}/{task}": sealed for (dag, task), sealed in graph.seals.items()},
        )
        pipe.hset(keys.graph(graph.definition_hash), mapping=graph.redis_fields())
        pipe.sadd(keys.queues, *queues)
        pipe.hset(keys.workflows, definition.name, json.dumps(summary))
        pipe.execute()
        self.ensure_queue_groups(queues)
        with self._lock:
            self._graphs[graph.definition_hash] = graph
        self._registered[definition.name] = graph.definition_hash
        log.info("workflow_registered", workflow=definition.name, hash=graph.definition_hash)
        return graph

    def list_workflows(self) -> list[WorkflowSummary]:
        result = []
        for name, raw in sorted(self._redis.hgetall(self._keys.workflows).items()):
            summary = json.loads(raw)
            result.append(
                WorkflowSummary(
                    name=name.decode(),
                    definition_hash=summary[WorkflowField.HASH],
                    description=summary[WorkflowField.DESCRIPTION],
                    dag_names=summary[WorkflowField.DAGS],
                    registered_ms=summary[WorkflowField.REGISTERED_MS],
                )
            )
        return result

    def workflow(self, name: str) -> tuple[WorkflowGraph, int]:
        """The workflow registered under `name` and when (ms since the epoch)."""
        raw = self._redis.hget(self._keys.workflows, name)
        if raw is None:
            shown = name if len(name) <= 100 else f"{name[:100]}..."
            raise NotFoundError(f"workflow '{shown}' is not registered")
        summary = json.loads(raw)
        return self.graph(summary[WorkflowField.HASH]), summary[WorkflowField.REGISTERED_MS]

    def registered_hash(self, workflow_name: str, *, fresh: bool = False) -> str:
        """The definition hash registered under the name: the one last seen here, or (`fresh`,
        or none seen) the one redis holds now."""
        if not fresh:
            known = self._registered.get(workflow_name)
            if known is not None:
                return known
        raw = self._redis.hget(self._keys.workflows, workflow_name)
        if raw is None:
            known_names = sorted(n.decode() for n in self._redis.hkeys(self._keys.workflows))
            raise NotFoundError(
                f"workflow '{workflow_name}' is not registered"
                f" (registered: {', '.join(known_names) or 'none'})"
            )
        definition_hash: str = json.loads(raw)[WorkflowField.HASH]
        self._registered[workflow_name] = definition_hash
        return definition_hash

    def ensure_queue_groups(self, queues: list[str]) -> None:
        for queue in queues:
            try:
                self._redis.xgroup_create(
                    self._keys.queue(queue), QUEUE_GROUP, id="0", mkstream=True
                )
            except redis.ResponseError as err:
                if redis_error_code(err) != "BUSYGROUP":
                    raise
