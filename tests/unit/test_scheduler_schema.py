"""The names inside the schedulers' redis keys, pinned (a change is a data migration), and the
Lua scripts held to them: every name a script reads from the schema's tables, from ARG or from
a REST group is one Python declares (schema.py, scripts.py)."""

from __future__ import annotations

import re
from importlib import resources

import pytest
import redis

from lightflow_scheduler.schema import (
    DagField,
    EntryField,
    EventField,
    EventType,
    RunField,
    TaskField,
    TaskStatus,
    lua_names,
    names,
)
from lightflow_scheduler.scripts import Scripts, lua_rest, render

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


def test_scripts_are_rendered_with_the_names_written_out() -> None:
    assert render("redis.call('HGET', key_run(r), RUN.STATUS)") == (
        "redis.call('HGET', key_run(r), 'status')"
    )
    assert render("{[EVENT.INSTANCE] = inst}, tk .. TASK.ATTEMPT") == "{['i'] = inst}, tk .. '|a'"
    assert render("local r, why = ARG.run, ARG.why", ("run", "why")) == (
        "local r, why = ARGV[4], ARGV[5]"
    )
    assert render("error_reply(REFUSAL.RUN_NOT_FOUND)") == "error_reply('LF_RUN_NOT_FOUND')"
    # Not the schema's: left as it is.
    assert render("string.format(x), OTHER.NAME") == "string.format(x), OTHER.NAME"
    with pytest.raises(ValueError, match=r"RUN\.STAUS is not a name of schema\.py"):
        render("RUN.STAUS")
    with pytest.raises(ValueError, match=r"ARG\.queue is not an argument"):
        render("ARG.queue", ("run",))


def test_a_repeated_tail_is_rest() -> None:
    assert lua_rest(("run", "reason"), ()) == ""
    assert lua_rest(("cap",), ("run_id", "text")) == (
        "local REST = {}\n"
        "for i = 5, #ARGV, 2 do REST[#REST + 1] = {run_id = ARGV[i], text = ARGV[i + 1]} end\n"
    )
    assert lua_rest(("worker",), ("queue",)) == "local REST = {unpack(ARGV, 5)}\n"


def test_the_assembled_scripts_hold_no_name_unwritten() -> None:
    for script in Scripts(redis.Redis(), "lf", 60).all:
        assert not re.search(r"\bARG\.\w", script.source), script.name
        for table in lua_names():
            assert not re.search(rf"\b{table}\.[A-Z]", script.source), (script.name, table)


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
    declared = {table: set(names) for table, names in lua_names().items()}
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
