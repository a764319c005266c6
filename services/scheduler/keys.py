"""Every redis key the schedulers use, built in this one module.

The Lua scripts get their key builders rendered from the same templates (`lua_key_builders`),
so Python and Lua cannot drift apart. A unit test pins the exact strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The consumer group every queue stream is read through.
QUEUE_GROUP = "workers"

# What the schedulers make run ids of (uuid4 hex). An id of any other shape names no run and
# never becomes part of a key: "x:events" must not reach the run's event stream.
_RUN_ID = re.compile(r"[0-9a-f]{32}")


def is_run_id(run_id: str) -> bool:
    return _RUN_ID.fullmatch(run_id) is not None


# A stream entry's id ("1764000000000-0"): queue entries (leases), events.
_ENTRY_ID = re.compile(r"\d{1,20}-\d{1,20}")


def is_entry_id(entry_id: str) -> bool:
    return _ENTRY_ID.fullmatch(entry_id) is not None


# name -> (template, Lua argument names). `{p}` is the namespace prefix.
_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    # hash: workflow name -> JSON summary {hash, description, dags, registered_ms}
    "workflows": ("{p}:workflows", ()),
    # string: serialized WorkflowDefinition
    "definition": ("{p}:def:{h}", ("h",)),
    # hash: "dag/task" -> JSON node, "dag/" -> JSON DAG summary (see graph.py)
    "graph": ("{p}:def:{h}:graph", ("h",)),
    # hash: "dag/task" -> the seal of the task's code (see lightflow_common.credentials)
    "seals": ("{p}:def:{h}:seals", ("h",)),
    # hash: run fields (status, outcome, def, started/ended ms, args, counters, ...)
    "run": ("{p}:run:{r}", ("r",)),
    # hash: "inst/task|s" status, "|a" attempt, "|w" worker, "|q" queue, "|d" preds done,
    # "|t0" handed out, "|t1" ended (ms): with run_dags, the run's provenance (meta.py)
    "run_tasks": ("{p}:run:{r}:tasks", ("r",)),
    # hash: "inst" status, "inst|dag" DAG name, "inst|left" unfinished tasks, "inst|n" order,
    # "inst|t0" started, "inst|t1" ended (ms)
    "run_dags": ("{p}:run:{r}:dags", ("r",)),
    # hash: "inst/task" -> output Payload bytes; "inst/" -> the data given to start_dag
    "run_data": ("{p}:run:{r}:data", ("r",)),
    # stream: the run's events but printed lines (all of them: never trimmed)
    "run_events": ("{p}:run:{r}:events", ("r",)),
    # stream: the lines the run's tasks printed, the oldest trimmed past a cap; its ids and
    # run_events' come from one counter (the run's "evseq"), so the two merge in order
    "run_output": ("{p}:run:{r}:output", ("r",)),
    # stream: one entry when the run ended, holding the id of its run_ended event
    "run_end": ("{p}:run:{r}:end", ("r",)),
    # sorted set: run id by start time (ms)
    "runs": ("{p}:runs", ()),
    # stream per queue: ready tasks; read through the consumer group QUEUE_GROUP
    "queue": ("{p}:queue:{q}", ("q",)),
    # set: every queue name ever used
    "queues": ("{p}:queues", ()),
    # hash: worker id -> JSON WorkerInfo, refreshed by heartbeats
    "workers": ("{p}:workers", ()),
    # sorted set: run ids whose end still needs the store document removed
    "cleanup": ("{p}:cleanup", ()),
    # sorted set: JSON of a task to queue again, by the time (ms) its retry is due
    "delayed": ("{p}:delayed", ()),
    # sorted set: run ids by their deadline (ms)
    "deadlines": ("{p}:deadlines", ()),
    # sorted set: scheduled run ids by their start time (ms)
    "run_starts": ("{p}:run-starts", ()),
    # hash: schedule name -> JSON of its spec and state (schedules.py)
    "schedules": ("{p}:schedules", ()),
    # sorted set: schedule names by when their next tick is due (ms, jitter included)
    "schedule_due": ("{p}:schedule-due", ()),
    # sorted set: run ids whose store document is still to be created, by when it is due
    # (ms); what the document will hold is in the run's hash (see document.lua)
    "documents_due": ("{p}:documents-due", ()),
    # string: a lock's owner token
    "lock": ("{p}:lock:{name}", ("name",)),
    # string: the run a StartRun request id started (expires with the run's retention)
    "request": ("{p}:request:{rid}", ("rid",)),
}


@dataclass(frozen=True)
class Keys:
    """Key builder for one namespace (tests use a unique prefix each)."""

    prefix: str = "lf"

    def _key(self, template: str, /, **parts: str) -> str:
        return _TEMPLATES[template][0].format(p=self.prefix, **parts)

    @property
    def workflows(self) -> str:
        return self._key("workflows")

    def definition(self, definition_hash: str) -> str:
        return self._key("definition", h=definition_hash)

    def graph(self, definition_hash: str) -> str:
        return self._key("graph", h=definition_hash)

    def seals(self, definition_hash: str) -> str:
        return self._key("seals", h=definition_hash)

    def run(self, run_id: str) -> str:
        return self._key("run", r=run_id)

    def run_tasks(self, run_id: str) -> str:
        return self._key("run_tasks", r=run_id)

    def run_dags(self, run_id: str) -> str:
        return self._key("run_dags", r=run_id)

    def run_data(self, run_id: str) -> str:
        return self._key("run_data", r=run_id)

    def run_events(self, run_id: str) -> str:
        return self._key("run_events", r=run_id)

    def run_output(self, run_id: str) -> str:
        return self._key("run_output", r=run_id)

    def run_end(self, run_id: str) -> str:
        return self._key("run_end", r=run_id)

    @property
    def runs(self) -> str:
        return self._key("runs")

    def queue(self, queue: str) -> str:
        return self._key("queue", q=queue)

    @property
    def queues(self) -> str:
        return self._key("queues")

    @property
    def workers(self) -> str:
        return self._key("workers")

    @property
    def cleanup(self) -> str:
        return self._key("cleanup")

    @property
    def delayed(self) -> str:
        return self._key("delayed")

    @property
    def deadlines(self) -> str:
        return self._key("deadlines")

    @property
    def schedules(self) -> str:
        return self._key("schedules")

    @property
    def schedule_due(self) -> str:
        return self._key("schedule_due")

    @property
    def run_starts(self) -> str:
        return self._key("run_starts")

    @property
    def documents_due(self) -> str:
        return self._key("documents_due")

    def lock(self, name: str) -> str:
        return self._key("lock", name=name)

    def request(self, request_id: str) -> str:
        return self._key("request", rid=request_id)


def lua_key_builders() -> str:
    """Lua functions `key_<name>(...)` building the same keys, and `GROUP`, the consumer
    group; they read the prefix from the Lua variable `P`, which every script sets from
    ARGV[1]."""
    lines = [f"local GROUP = '{QUEUE_GROUP}'"]
    for name, (template, args) in _TEMPLATES.items():
        expr = template.replace("{p}", "' .. P .. '")
        for arg in args:
            expr = expr.replace("{" + arg + "}", "' .. " + arg + " .. '")
        expr = f"'{expr}'".replace("'' .. ", "").replace(" .. ''", "")
        lines.append(f"local function key_{name}({', '.join(args)}) return {expr} end")
    return "\n".join(lines) + "\n"
