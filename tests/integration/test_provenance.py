"""A run's provenance, the store's meta section in the original Lightflow's layout
(lightflow/_wire/meta.py): tasks read it while their run is live, with no window in which an
ended task's entry is missing (the schedulers answer from the run's state in redis), and it
is the same in the store document a kept run leaves behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
import grpc
import pytest

from lightflow import Client, RunInfo
from lightflow._grpc import open_channel
from lightflow._replicas import Replicas
from lightflow._store import StoreClient, StoreError
from lightflow.v1 import scheduler_pb2, scheduler_pb2_grpc
from lightflow_cli.stack import LocalStack
from lightflow_common.credentials import RunCredentials
from tests.conftest import assert_eventually, client_for, dump_logs, output_lines

WORKFLOWS = Path(__file__).parent / "workflows"

# The last task keeps in the data section what it read of its own run's meta section.
SELF = """
from lightflow.models import Dag, DataStoreDocumentSection, Option, Parameters
from lightflow.tasks import PythonTask

META = DataStoreDocumentSection.Meta
parameters = Parameters([Option('label', default='none')])


def first(data, store, signal, context):
    pass


def me(data, store, signal, context):
    key = 'log.{}.tasks.{}'.format(context.dag_name, context.task_name)
    section = store.get_document(section=META)
    store.set('seen', {
        'me': store.get(key, section=META),
        'run': {name: value for name, value in section.items() if name != 'log'},
        'dag': {name: value for name, value in section['log']['main'].items() if name != 'tasks'},
        'first': store.get('log.main.tasks.first', section=META),
        'keys': store.list_keys(key, section=META),
        'tasks': store.list_keys('log.main.tasks', section=META),
        'exists': [store.exists(key + '.end_time', section=META),
                   store.exists(key + '.worker', section=META)],
        'missing': store.get('log.main.tasks.nobody', 'default', section=META),
    })


d = Dag('main')
d.define({PythonTask(name='first', callback=first): PythonTask(name='me', callback=me)})
"""

# Two instances of a sub-DAG (one task's name holds a "."); the main task reads their entries
# once it joined them.
SUB_DAGS = """
from lightflow.models import Dag, DataStoreDocumentSection
from lightflow.tasks import PythonTask

META = DataStoreDocumentSection.Meta


def start(data, store, signal, context):
    names = [signal.start_dag('sub'), signal.start_dag('sub')]
    signal.join_dags(names)
    store.set('names', names)
    store.set('seen', store.get('log', section=META))


def step(data, store, signal, context):
    if context.task_name == 'two':  # its own entry, found through its context
        own = store.get('log.{}.tasks.two'.format(context.dag_instance), section=META)
        store.push('contexts', [context.dag_name, context.dag_instance, 'start_time' in own])


main = Dag('main')
main.define({PythonTask(name='start', callback=start): None})
sub = Dag('sub', autostart=False)
sub.define({PythonTask(name='step.one', callback=step): PythonTask(name='two', callback=step)})
"""

# Waits for the file {gate}.
GATED = """
import os
import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def wait(data, store, signal, context):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not os.path.exists({gate!r}):
        time.sleep(0.05)


d = Dag('main')
d.define({{PythonTask(name='wait', callback=wait): None}})
"""

_TASK_FIELDS = ["start_time", "end_time", "duration", "worker", "queue", "attempt", "status"]


def _workflow(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def _utc(moment: datetime | None) -> datetime:
    """A datetime from the store (naive, UTC) or from RunInfo (aware) as an aware UTC one."""
    assert moment is not None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _task(info: RunInfo, instance: str, name: str) -> Any:
    [task] = [t for t in info.tasks if (t.dag_instance, t.name) == (instance, name)]
    return task


def _kept_meta(stack: LocalStack, run_id: str) -> dict[str, Any]:
    """The meta section the ended run left in its store document, read by a client that
    never asks the schedulers."""
    assert stack.store is not None
    with StoreClient(stack.store.address, stack.options.token) as store:

        def written() -> dict[str, Any]:
            meta = store.get_document(run_id, section="meta")
            assert meta.get("status") == "succeeded"
            return meta

        return assert_eventually(written)


def test_the_timing_example_prints_every_earlier_tasks_worker_and_duration(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(WORKFLOWS / "timing.py")
    run = client.start("timing")
    events = list(run.events(timeout=60))
    assert events[-1].status == "succeeded", dump_logs(stack)

    info = run.info()
    printed = [line for label, line in output_lines(events) if label == "main_dag/print_task"]
    expected = []
    for name in ("sleep_task_1", "sleep_task_2", "sleep_task_3"):
        task = _task(info, "main_dag", name)
        took = (_utc(task.ended_at) - _utc(task.started_at)).total_seconds()
        expected.append(f"{name} on {task.worker_id} took {took} seconds")
    expected.append(
        f"print_task on {_task(info, 'main_dag', 'print_task').worker_id} is still running"
    )
    assert printed == expected


def test_a_task_reads_its_own_entry_the_runs_and_its_dags(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(_workflow(tmp_path, "self_entry", SELF))
    run = client.start("self_entry", {"label": "given"}, keep_data=True)
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    assert stack.store is not None
    with StoreClient(stack.store.address, stack.options.token) as store:
        seen = store.get(run.id, "seen")

    info = run.info()
    me, first = _task(info, "main", "me"), _task(info, "main", "first")
    assert seen["me"] == {
        "start_time": seen["me"]["start_time"],
        "worker": me.worker_id,
        "queue": "task",
        "attempt": 1,
        "status": "running",
    }
    assert _utc(seen["me"]["start_time"]) == _utc(me.started_at)
    assert seen["first"]["status"] == "succeeded"
    assert _utc(seen["first"]["end_time"]) == _utc(first.ended_at)
    assert _utc(seen["first"]["end_time"]) <= _utc(seen["me"]["start_time"])
    assert seen["run"] == {
        "name": "self_entry",
        "queue": "workflow",
        "run_id": run.id,
        "arguments": {"label": "given"},
        "start_time": seen["run"]["start_time"],
        "status": "running",
    }
    assert _utc(seen["run"]["start_time"]) == _utc(info.started_at)
    assert seen["dag"] == {
        "dag": "main",
        "status": "running",
        "start_time": seen["dag"]["start_time"],
    }
    key = "log.main.tasks.me"
    assert seen["keys"] == [
        f"{key}.{name}" for name in ("start_time", "worker", "queue", "attempt", "status")
    ]
    assert seen["tasks"] == ["log.main.tasks.first", "log.main.tasks.me"]
    assert seen["exists"] == [False, True]
    assert seen["missing"] == "default"


def test_a_sub_dags_tasks_appear_under_their_instance(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(_workflow(tmp_path, "sub_dags", SUB_DAGS))
    run = client.start("sub_dags", keep_data=True)
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    assert stack.store is not None
    with StoreClient(stack.store.address, stack.options.token) as store:
        names, seen = store.get(run.id, "names"), store.get(run.id, "seen")
        contexts = store.get(run.id, "contexts")
    assert names == ["sub:1", "sub:2"]
    assert sorted(contexts) == [["sub", "sub:1", True], ["sub", "sub:2", True]]

    meta = _kept_meta(stack, run.id)
    assert list(meta["log"]) == ["main", "sub:1", "sub:2"]
    for instance in names:
        dag = meta["log"][instance]
        assert (dag["dag"], dag["status"]) == ("sub", "succeeded")
        # A "." in a name is written as U+FF0E, so that it does not split the key.
        assert list(dag["tasks"]) == ["step\uff0eone", "two"]
        for task in dag["tasks"].values():
            assert list(task) == _TASK_FIELDS
            assert task["status"] == "succeeded"
        # What the main task read once it joined them is what the run kept.
        assert seen[instance] == dag
    assert meta["log"]["main"]["tasks"]["start"]["status"] == "succeeded"
    assert seen["main"]["tasks"]["start"]["status"] == "running"


def test_a_run_credential_reads_its_own_runs_meta_only(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    gate = tmp_path / "gate"
    client = client_for(stack)
    client.register(_workflow(tmp_path, "gated", GATED.format(gate=str(gate))))
    run_a, run_b = client.start("gated"), client.start("gated")
    credential_b = RunCredentials(stack.options.token).mint(run_b.id)
    assert stack.store is not None
    replicas = Replicas(stack.scheduler_addresses, credential_b)
    signal = scheduler_pb2_grpc.SignalServiceStub(
        open_channel(stack.scheduler_addresses[0], credential_b)
    )
    try:
        with pytest.raises(grpc.RpcError) as denied:
            signal.ReadMeta(scheduler_pb2.ReadMetaRequest(run_id=run_a.id, key="name"), timeout=10)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        own = signal.ReadMeta(
            scheduler_pb2.ReadMetaRequest(run_id=run_b.id, key="name"), timeout=10
        )
        assert (own.in_store, own.found) == (False, True)
        assert bson.decode(own.value.data) == {"v": "gated"}

        with StoreClient(stack.store.address, credential_b, read_meta=replicas.read_meta) as store:
            with pytest.raises(StoreError, match="may not touch") as refused:
                store.get(run_a.id, "name", section="meta")
            assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
            assert store.get(run_b.id, "run_id", section="meta") == run_b.id
            # The meta section is the engine's: a task writes to the data section.
            with pytest.raises(StoreError, match="written by the engine") as written:
                store.set(run_b.id, "name", "forged", section="meta")
            assert written.value.code == grpc.StatusCode.PERMISSION_DENIED
    finally:
        replicas.close()
        gate.touch()
    assert run_a.wait(timeout=60) == "succeeded"
    assert run_b.wait(timeout=60) == "succeeded"


def test_an_ended_kept_runs_meta_has_the_same_layout_for_every_reader(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client: Client = client_for(stack)
    client.register(WORKFLOWS / "timing.py")
    run = client.start("timing", keep_data=True)
    events = list(run.events(timeout=60))
    assert events[-1].status == "succeeded", dump_logs(stack)
    assert stack.store is not None
    replicas = Replicas(stack.scheduler_addresses, stack.options.token)
    try:
        with StoreClient(
            stack.store.address, stack.options.token, read_meta=replicas.read_meta
        ) as routed:
            # Right after the end, before or after its provenance went into the store: whole.
            at_once = routed.get_document(run.id, section="meta")
            kept = _kept_meta(stack, run.id)
            assert routed.get_document(run.id, section="meta") == kept == at_once
            assert routed.get(run.id, "log.main_dag.tasks.print_task.status", section="meta") == (
                "succeeded"
            )
    finally:
        replicas.close()

    assert set(kept) == {
        "name",
        "queue",
        "run_id",
        "arguments",
        "start_time",
        "end_time",
        "duration",
        "status",
        "log",
    }
    assert (kept["name"], kept["run_id"], kept["status"]) == ("timing", run.id, "succeeded")
    assert kept["duration"] == (kept["end_time"] - kept["start_time"]).total_seconds()
    dag = kept["log"]["main_dag"]
    assert list(dag["tasks"]) == ["sleep_task_1", "sleep_task_2", "sleep_task_3", "print_task"]
    printed = [line for label, line in output_lines(events) if label == "main_dag/print_task"]
    for line, (name, task) in zip(printed, dag["tasks"].items(), strict=True):
        assert list(task) == _TASK_FIELDS
        if name != "print_task":  # what the last task printed is what the run kept
            assert line == f"{name} on {task['worker']} took {task['duration']} seconds"

    shown = subprocess.run(
        [sys.executable, "-m", "lightflow_cli", "store", "get", run.id, "--section=meta"],
        env={
            **os.environ,
            "LIGHTFLOW_STORE_ADDRESS": stack.store.address,
            "LIGHTFLOW_ADDRESS": ",".join(stack.scheduler_addresses),
            "LIGHTFLOW_TOKEN": stack.options.token or "",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == json.loads(json.dumps(kept, default=datetime.isoformat))
