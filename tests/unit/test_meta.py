"""The meta section the schedulers build from a run's state in redis (lightflow_scheduler.meta),
in the layout of lightflow/_wire/meta.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lightflow._wire.documents import collect_keys
from lightflow._wire.meta import dag_key, span, task_key
from lightflow_scheduler import meta


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


DAGS = {
    "main": "running",
    "main|dag": "main",
    "main|n": "1",
    "main|t0": "1000",
    "main|left": "1",
    "sub.x:1": "succeeded",
    "sub.x:1|dag": "sub.x",
    "sub.x:1|n": "2",
    "sub.x:1|t0": "1500",
    "sub.x:1|t1": "1700",
    "req|0123": "sub.x:1",
}
TASKS = {
    # started second, ended
    "main/b.c|s": "succeeded",
    "main/b.c|a": "2",
    "main/b.c|w": "host-1-ab",
    "main/b.c|q": "gpu",
    "main/b.c|t0": "1200",
    "main/b.c|t1": "1450",
    # started first, running
    "main/a|s": "running",
    "main/a|a": "1",
    "main/a|w": "host-1-ab",
    "main/a|q": "task",
    "main/a|t0": "1100",
    "main/a|d": "0",
    # never started (skipped): no entry
    "main/skipped|s": "skipped",
    "main/skipped|t1": "1450",
    "sub.x:1/one|s": "succeeded",
    "sub.x:1/one|a": "1",
    "sub.x:1/one|w": "host-2-cd",
    "sub.x:1/one|q": "task",
    "sub.x:1/one|t0": "1500",
    "sub.x:1/one|t1": "1700",
}


def test_the_log_holds_each_instance_and_the_tasks_that_started_in_start_order() -> None:
    log = meta.log_entries(DAGS, TASKS)

    assert list(log) == ["main", "sub\uff0ex:1"]
    assert log["main"] == {
        "dag": "main",
        "status": "running",
        "start_time": _at(1000),
        "tasks": {
            "a": {
                "start_time": _at(1100),
                "worker": "host-1-ab",
                "queue": "task",
                "attempt": 1,
                "status": "running",
            },
            "b\uff0ec": {
                "start_time": _at(1200),
                "end_time": _at(1450),
                "duration": 0.25,
                "worker": "host-1-ab",
                "queue": "gpu",
                "attempt": 2,
                "status": "succeeded",
            },
        },
    }
    assert log["sub\uff0ex:1"]["dag"] == "sub.x"
    assert log["sub\uff0ex:1"]["duration"] == 0.2
    assert list(log["sub\uff0ex:1"]["tasks"]) == ["one"]


def test_the_runs_entries_sit_at_the_root() -> None:
    run = {"wf": "timing", "status": "succeeded", "started": "1000", "ended": "3500"}

    assert meta.run_entries("r1", run, {"n": 3}) == {
        "name": "timing",
        "queue": "workflow",
        "run_id": "r1",
        "arguments": {"n": 3},
        "start_time": _at(1000),
        "end_time": _at(3500),
        "duration": 2.5,
        "status": "succeeded",
    }


def test_keys_of_the_layout_escape_dots() -> None:
    assert dag_key("sub.x:1") == "log.sub\uff0ex:1"
    assert task_key("main", "b.c") == "log.main.tasks.b\uff0ec"
    assert span(_at(1000), None) == {"start_time": _at(1000)}


def test_navigate_and_list_keys_as_the_store_does() -> None:
    section = {"name": "w", "arguments": {"xs": [1, 2]}, "log": meta.log_entries(DAGS, TASKS)}

    assert meta.navigate(section, ["log", "main", "tasks", "a", "queue"]) == (True, "task")
    assert meta.navigate(section, ["arguments", "xs", "1"]) == (True, 2)
    assert meta.navigate(section, ["log", "nobody"]) == (False, None)
    assert meta.navigate(section, ["name", "x"]) == (False, None)
    assert meta.navigate(section, []) == (True, section)
    assert collect_keys(section["log"]["main"]["tasks"], "log.main.tasks", recursive=False) == [
        "log.main.tasks.a",
        "log.main.tasks.b\uff0ec",
    ]
    assert collect_keys({"a": {"b": 1, "c": {}}, "d": [1]}, "", recursive=True) == [
        "a.b",
        "a.c",
        "d",
    ]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("a..b", "empty segment"),
        (".a", "empty segment"),
        ("a.$inc", "starts with '\\$'"),
        ("a\x00b", "NUL"),
        ("a.__lightflow_payload__", "reserved"),
        ("x" * 1025, "at most 1024 characters"),
        (".".join(["a"] * 101), "at most 100 segments"),
    ],
)
def test_a_key_the_store_refuses_is_refused(key: str, problem: str) -> None:
    with pytest.raises(meta.MetaKeyError, match=problem):
        meta.split_key(key, "r1")


def test_an_empty_key_is_the_whole_section() -> None:
    assert meta.split_key("", "r1") == []
    assert meta.split_key("log.main", "r1") == ["log", "main"]
