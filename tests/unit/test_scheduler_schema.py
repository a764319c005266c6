"""The names inside the schedulers' redis keys, pinned (a change is a data migration), and the
Lua scripts held to them: every name a script reads from the schema's tables, from ARG or from
a REST group is one Python declares (schema.py, scripts.py)."""

from __future__ import annotations

import re
from importlib import resources

import redis

from lightflow_scheduler import schema
from lightflow_scheduler.schema import (
    DagField,
    EntryField,
    EventField,
    EventType,
    RunField,
    TaskField,
    TaskStatus,
    lua_schema,
    names,
)
from lightflow_scheduler.scripts import Scripts, lua_header

LUA = resources.files("lightflow_scheduler") / "lua"
# script -> (ARG names, REST group names), as the wrappers declare them (loading a script
# into a client object talks to no redis).
DECLARED = {
    script.name: (script.args, script.rest) for script in Scripts(redis.Redis(), "lf", 60).all
}


def _source(name: str) -> str:
    return (LUA / f"{name}.lua").read_text()


def test_field_names_are_pinned() -> None:
    assert RunField.WORKFLOW == "wf"
    assert RunField.DEFINITION == "def"
    assert RunField.STATUS == "status"
    assert RunField.EVENT_SEQ == "evseq"
    assert RunField.DOC_DATA == "docdata"
    assert RunField.STOPPING_SINCE == "stopping_since"
    assert names(TaskField) == {
        "STATUS": "|s",
        "ATTEMPT": "|a",
        "ENTRY": "|e",
        "WORKER": "|w",
        "QUEUE": "|q",
        "PREDS_DONE": "|d",
        "VOTES": "|v",
        "RETRIES": "|r",
        "FAILURE": "|f",
        "STARTED": "|t0",
        "ENDED": "|t1",
    }
    assert names(DagField)["STOP"] == "|stop"
    assert DagField.REQUEST == "req|"
    assert list(names(EntryField).values()) == ["r", "i", "d", "t", "a"]
    assert names(EventField) == {
        "TYPE": "ty",
        "TIME": "ts",
        "INSTANCE": "i",
        "TASK": "k",
        "ATTEMPT": "a",
        "WORKER": "w",
        "STATUS": "s",
        "FAILURE": "f",
        "TEXT": "x",
        "STREAM": "o",
    }


def test_the_lua_tables_hold_the_same_names() -> None:
    lua = lua_schema()
    assert "local TASK = {STATUS = '|s', ATTEMPT = '|a', ENTRY = '|e'," in lua
    assert "local RUN = {WORKFLOW = 'wf', DEFINITION = 'def', STATUS = 'status'," in lua
    assert "local REFUSAL = {RUN_NOT_FOUND = 'LF_RUN_NOT_FOUND'," in lua


def test_a_script_header_names_its_arguments_after_the_three_every_script_takes() -> None:
    assert lua_header(("run", "reason")) == "local ARG = {run = ARGV[4], reason = ARGV[5]}\n"
    assert lua_header(("cap",), ("run_id", "text")) == (
        "local ARG = {cap = ARGV[4]}\n"
        "local REST = {}\n"
        "for i = 5, #ARGV, 2 do REST[#REST + 1] = {run_id = ARGV[i], text = ARGV[i + 1]} end\n"
    )
    assert lua_header(("worker",), ("queue",)) == (
        "local ARG = {worker = ARGV[4]}\nlocal REST = {unpack(ARGV, 5)}\n"
    )


def test_scripts_read_arguments_by_name_only() -> None:
    for name, (args, rest) in DECLARED.items():
        source = _source(name)
        assert "ARGV" not in source, name
        used = set(re.findall(r"\bARG\.(\w+)", source))
        assert used == set(args), (name, used ^ set(args))
        if len(rest) > 1:
            # REST's groups are read through a loop variable: `for _, e in ipairs(REST)`.
            (var,) = re.findall(r"for _, (\w+) in ipairs\(REST\)", source)
            assert set(re.findall(rf"\b{var}\.(\w+)", source)) == set(rest), name
        else:
            assert ("REST" in source) == bool(rest), name
    assert "ARGV[4]" not in _source("_lib")


def test_every_schema_name_a_script_uses_exists() -> None:
    tables = {line.split()[1] for line in lua_schema().splitlines()}
    declared = {table: set(names(holder)) for table, holder in schema.LUA_TABLES.items()}
    assert tables == set(declared)
    for name in (*DECLARED, "_lib"):
        for table, field in re.findall(r"\b([A-Z]+)\.([A-Z_0-9]+)\b", _source(name)):
            if table in declared:
                assert field in declared[table], f"{name}.lua: {table}.{field}"


def test_the_scripts_write_known_event_types_and_task_states() -> None:
    for name in (*DECLARED, "_lib"):
        source = _source(name)
        for kind in re.findall(r"event\(r, '(\w+)'", source):
            assert kind in set(EventType), f"{name}.lua: {kind}"
        for status in re.findall(r"TASK\.STATUS, '(\w+)'", source):
            assert status in set(TaskStatus), f"{name}.lua: {status}"
