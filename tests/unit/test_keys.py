"""Every redis key the schedulers use, pinned: a change here is a data migration."""

from __future__ import annotations

from lightflow_scheduler.keys import QUEUE_GROUP, Keys, lua_key_builders


def test_keys_are_pinned() -> None:
    keys = Keys("lf")
    assert keys.workflows == "lf:workflows"
    assert keys.definition("abc") == "lf:def:abc"
    assert keys.graph("abc") == "lf:def:abc:graph"
    assert keys.run("r1") == "lf:run:r1"
    assert keys.run_tasks("r1") == "lf:run:r1:tasks"
    assert keys.run_dags("r1") == "lf:run:r1:dags"
    assert keys.run_data("r1") == "lf:run:r1:data"
    assert keys.run_events("r1") == "lf:run:r1:events"
    assert keys.run_end("r1") == "lf:run:r1:end"
    assert keys.runs == "lf:runs"
    assert keys.queue("task") == "lf:queue:task"
    assert keys.queues == "lf:queues"
    assert keys.workers == "lf:workers"
    assert keys.cleanup == "lf:cleanup"
    assert keys.delayed == "lf:delayed"
    assert keys.deadlines == "lf:deadlines"
    assert keys.documents_due == "lf:documents-due"
    assert keys.lock("sweeper") == "lf:lock:sweeper"
    assert keys.request("abc") == "lf:request:abc"
    assert QUEUE_GROUP == "workers"


def test_namespace_prefixes_every_key() -> None:
    assert Keys("test-7").queue("gpu") == "test-7:queue:gpu"


def test_lua_builders_use_the_same_templates() -> None:
    lua = lua_key_builders()
    assert "local function key_run_tasks(r) return P .. ':run:' .. r .. ':tasks' end" in lua
    assert "local function key_lock(name) return P .. ':lock:' .. name end" in lua
    assert "local function key_runs() return P .. ':runs' end" in lua
