"""A workflow definition checked and turned into the graph the Lua scripts walk.

Each node is stored as one redis hash field, so a task hop reads only the nodes it touches
(bounded work per hop, whatever the size of the DAG)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from lightflow.v1 import workflow_pb2

# Redis field names are "instance/task|attr" and instances are "dag:N".
_FORBIDDEN_IN_TASK = ("/", "|")
_FORBIDDEN_IN_DAG = ("/", "|", ":")


class InvalidDefinitionError(ValueError):
    """The workflow definition cannot run; the message names workflow, DAG and task."""


@dataclass
class TaskNode:
    name: str
    queue: str
    # Runs even when no predecessor selects it.
    force_run: bool = False
    # When skipped, its successors are skipped too (else they run as if it had selected them).
    propagate_skip: bool = True
    # Failed attempts tried again, the first retry's delay (s), an attempt's time limit (s).
    retries: int = 0
    retry_delay_s: float = 1.0
    timeout_s: float = 0.0
    # (predecessor name, alias or "") in edge order
    preds: list[tuple[str, str]] = field(default_factory=list)
    succs: list[str] = field(default_factory=list)


@dataclass
class DagGraph:
    name: str
    autostart: bool
    tasks: dict[str, TaskNode]

    @property
    def start(self) -> list[str]:
        return [name for name, node in self.tasks.items() if not node.preds]


@dataclass
class WorkflowGraph:
    definition: workflow_pb2.WorkflowDefinition
    definition_hash: str
    dags: dict[str, DagGraph]
    # (dag, task) -> serialized task object
    code: dict[tuple[str, str], bytes]
    # (dag, task) -> the seal of its code (lightflow_common.credentials.code_seal), made when
    # the workflow was registered through a scheduler; missing for code written into redis.
    seals: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def redis_fields(self) -> dict[str, str]:
        """The graph hash: "dag/task" -> node, "dag/" -> DAG summary (JSON)."""
        fields: dict[str, str] = {}
        for dag in self.dags.values():
            fields[f"{dag.name}/"] = json.dumps(
                {"size": len(dag.tasks), "start": [[t, dag.tasks[t].queue] for t in dag.start]}
            )
            for node in dag.tasks.values():
                # Per successor: name, queue, number of predecessors, force_run, propagate_skip.
                succs = [
                    [
                        s,
                        dag.tasks[s].queue,
                        len(dag.tasks[s].preds),
                        int(dag.tasks[s].force_run),
                        int(dag.tasks[s].propagate_skip),
                    ]
                    for s in node.succs
                ]
                fields[f"{dag.name}/{node.name}"] = json.dumps(
                    {
                        "q": node.queue,
                        "p": [list(p) for p in node.preds],
                        "s": succs,
                        "r": node.retries,
                        "rd": node.retry_delay_s,
                    }
                )
        return fields

    @property
    def queues(self) -> set[str]:
        return {node.queue for dag in self.dags.values() for node in dag.tasks.values()}


def definition_hash(definition: workflow_pb2.WorkflowDefinition) -> str:
    return hashlib.sha256(definition.SerializeToString(deterministic=True)).hexdigest()


def build_graph(definition: workflow_pb2.WorkflowDefinition) -> WorkflowGraph:
    """Check a definition and build its graph; raises InvalidDefinitionError."""
    wf = definition.name
    if not wf:
        raise InvalidDefinitionError("the workflow has no name")
    if not definition.dags:
        raise InvalidDefinitionError(f"workflow '{wf}' defines no DAG")
    _check_options(definition)
    dags: dict[str, DagGraph] = {}
    code: dict[tuple[str, str], bytes] = {}
    for dag_def in definition.dags:
        where = f"workflow '{wf}', DAG '{dag_def.name}'"
        if not dag_def.name or any(c in dag_def.name for c in _FORBIDDEN_IN_DAG):
            raise InvalidDefinitionError(
                f"workflow '{wf}': invalid DAG name {dag_def.name!r} "
                f"(must be non-empty, without {' '.join(_FORBIDDEN_IN_DAG)})"
            )
        if dag_def.name in dags:
            raise InvalidDefinitionError(f"workflow '{wf}' has two DAGs named '{dag_def.name}'")
        if not dag_def.tasks:
            raise InvalidDefinitionError(f"{where} has no task")
        tasks: dict[str, TaskNode] = {}
        for task in dag_def.tasks:
            if not task.name or any(c in task.name for c in _FORBIDDEN_IN_TASK):
                raise InvalidDefinitionError(
                    f"{where}: invalid task name {task.name!r} "
                    f"(must be non-empty, without {' '.join(_FORBIDDEN_IN_TASK)})"
                )
            if task.name in tasks:
                raise InvalidDefinitionError(f"{where} has two tasks named '{task.name}'")
            tasks[task.name] = TaskNode(
                task.name,
                task.queue or "task",
                task.force_run,
                not task.stop_skip_propagation,
                task.retries,
                task.retry_delay_s or 1.0,
                task.timeout_s,
            )
            code[(dag_def.name, task.name)] = task.code.SerializeToString()
        for edge in dag_def.edges:
            for end in (edge.parent, edge.child):
                if end not in tasks:
                    raise InvalidDefinitionError(f"{where}: edge uses unknown task '{end}'")
            if edge.parent == edge.child:
                raise InvalidDefinitionError(f"{where}: task '{edge.parent}' depends on itself")
            if edge.child in tasks[edge.parent].succs:
                raise InvalidDefinitionError(
                    f"{where}: edge '{edge.parent}' -> '{edge.child}' is defined twice"
                )
            tasks[edge.parent].succs.append(edge.child)
            tasks[edge.child].preds.append((edge.parent, edge.alias))
        _check_acyclic(where, tasks)
        dags[dag_def.name] = DagGraph(dag_def.name, dag_def.autostart, tasks)
    return WorkflowGraph(definition, definition_hash(definition), dags, code)


def _check_options(definition: workflow_pb2.WorkflowDefinition) -> None:
    # The same rules StartRun applies (the SDK's Parameters), checked once at registration.
    from lightflow._parameters import ArgumentError, Parameters  # noqa: PLC0415

    try:
        Parameters.from_proto(definition.options)
    except (ArgumentError, TypeError, ValueError) as err:
        raise InvalidDefinitionError(f"workflow '{definition.name}': {err}") from err


def _check_acyclic(where: str, tasks: dict[str, TaskNode]) -> None:
    # Iterative DFS with colours; the cycle is reported by name.
    colour = dict.fromkeys(tasks, 0)  # 0 new, 1 on the path, 2 done
    for root, node in tasks.items():
        if colour[root]:
            continue
        path: list[str] = [root]
        iters = [iter(node.succs)]
        colour[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                iters.pop()
            elif colour[nxt] == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise InvalidDefinitionError(f"{where} has a cycle: {' -> '.join(cycle)}")
            elif colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                iters.append(iter(tasks[nxt].succs))
