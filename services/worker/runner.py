"""The task process: one per busy slot, started with spawn (never forked with a live channel).
It receives leases from the worker over a pipe, runs the task's callback and sends back its
printed lines, join notices and the result."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

import cloudpickle

from lightflow._action import Action
from lightflow._codec import ENCODING_CLOUDPICKLE
from lightflow._context import TaskContext
from lightflow._data import MultiTaskData, TaskData
from lightflow._replicas import Replicas
from lightflow._signal import TaskSignal
from lightflow._store import StoreClient, TaskStore
from lightflow._task import AbortWorkflow, BaseTask, StopTask
from lightflow._workflow import decode_task
from lightflow.v1 import common_pb2, scheduler_pb2

_PR_SET_PDEATHSIG = 1


def lease_key(ref: scheduler_pb2.LeaseRef) -> str:
    """Identifies a hand-out: entry ids are unique within one queue's stream only."""
    return f"{ref.queue}/{ref.entry_id}"


class ParentLink:
    """Messages to the worker process; several threads of a task may print at once."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.lease_key = ""

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._conn.send(message)


class _LineWriter(io.TextIOBase):
    """Replaces sys.stdout/stderr: each complete line goes to the worker, labelled later
    with the task it came from."""

    def __init__(self, link: ParentLink, stream: str) -> None:
        self._link = link
        self._stream = stream
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._link.send(("output", self._link.lease_key, self._stream, line))
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._link.send(("output", self._link.lease_key, self._stream, self._partial))
            self._partial = ""


def encode_data(value: object) -> common_pb2.Payload:
    return common_pb2.Payload(
        encoding=ENCODING_CLOUDPICKLE, data=cloudpickle.dumps(value, protocol=5)
    )


def decode_data(payload: common_pb2.Payload) -> Any:
    return cloudpickle.loads(payload.data)


def build_input(lease: scheduler_pb2.TaskLease) -> MultiTaskData:
    """One dataset per predecessor that ran, aliased by the edge's alias; or the data given
    to start_dag; or one empty dataset."""
    data = MultiTaskData()
    for dataset in lease.inputs:
        value = decode_data(dataset.data)
        aliases = [dataset.alias] if dataset.alias else None
        data.add_dataset(dataset.task_name or lease.task_name, value, aliases=aliases)
    if len(data) == 0:
        data.add_dataset(lease.task_name, TaskData())
    return data


def run_task(
    lease: scheduler_pb2.TaskLease,
    task: BaseTask,
    store: TaskStore,
    signal: TaskSignal,
    hostname: str,
) -> scheduler_pb2.TaskResult:
    result = scheduler_pb2.TaskResult(
        lease=lease.lease,
        run_id=lease.run_id,
        dag_instance=lease.dag_instance,
        task_name=lease.task_name,
        attempt=lease.attempt,
    )
    context = TaskContext(
        task_name=lease.task_name,
        dag_name=lease.dag_name,
        workflow_name=lease.workflow_name,
        workflow_id=lease.run_id,
        worker_hostname=hostname,
    )
    try:
        data = build_input(lease)
        returned = task.run(data, store, signal, context)
        if returned is None:
            action = Action(data)
        elif isinstance(returned, Action):
            action = returned
        else:
            raise TypeError(
                f"task '{lease.task_name}' returned a {type(returned).__name__};"
                " a task returns None or an Action"
            )
        if action.limit is not None:
            # Limiting successors needs skip propagation in the schedulers (not built yet).
            raise NotImplementedError(
                f"task '{lease.task_name}' returned Action(limit=...), which is not supported yet"
            )
        output = action.data
        if isinstance(output, MultiTaskData):
            output.flatten(in_place=True)
            output.add_task_history(lease.task_name)
            output = output.default_dataset
        elif not isinstance(output, TaskData):
            raise TypeError(
                f"task '{lease.task_name}' returned an Action holding a {type(output).__name__};"
                " it must hold the task's data"
            )
        result.output.CopyFrom(encode_data(output))
        result.status = common_pb2.TASK_STATUS_SUCCEEDED
    except AbortWorkflow as err:
        result.status = common_pb2.TASK_STATUS_ABORTED
        result.failure.CopyFrom(_failure(err))
    except StopTask as err:
        # Stopping a task and skipping its successors needs skip propagation in the
        # schedulers, which is not built yet; a clear failure beats a wrong success.
        result.status = common_pb2.TASK_STATUS_FAILED
        result.failure.CopyFrom(_failure(err))
        result.failure.message = f"StopTask is not supported yet: {err}"
    except Exception as err:
        result.status = common_pb2.TASK_STATUS_FAILED
        result.failure.CopyFrom(_failure(err))
    return result


def _failure(err: BaseException) -> common_pb2.Failure:
    return common_pb2.Failure(
        type=type(err).__name__,
        message=str(err),
        stack_trace="".join(traceback.format_exception(err)),
    )


def _die_with_parent() -> None:
    # A task process whose worker died must not live on: its lease is gone and the task is
    # handed to another worker, so it would only do the work twice.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the worker died before prctl took effect
        os._exit(1)


def child_main(conn: Connection, scheduler_addresses: Sequence[str], token: str | None) -> None:
    """Entry point of a task process."""
    _die_with_parent()
    link = ParentLink(conn)
    stdout, stderr = _LineWriter(link, "stdout"), _LineWriter(link, "stderr")
    sys.stdout, sys.stderr = stdout, stderr
    # Signals prefer another replica than the worker's stream: load and failures spread.
    addresses = [*scheduler_addresses[1:], *scheduler_addresses[:1]]
    replicas = Replicas(addresses, token)
    stores: dict[str, StoreClient] = {}
    tasks: dict[tuple[str, str, str], BaseTask] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        _, lease_bytes, code_bytes, store_address, hostname = message
        lease = scheduler_pb2.TaskLease.FromString(lease_bytes)
        link.lease_key = lease_key(lease.lease)
        key = (lease.definition_hash, lease.dag_name, lease.task_name)
        if key not in tasks:
            # Unpickled once per definition and task, then reused by every run.
            tasks[key] = decode_task(common_pb2.Payload.FromString(code_bytes))
        if store_address not in stores:
            stores[store_address] = StoreClient(store_address, token)
        store = TaskStore(stores[store_address], lease.run_id)
        signal = TaskSignal(replicas, lease.run_id, lease.dag_instance, link.send, link.lease_key)
        result = run_task(lease, tasks[key], store, signal, hostname)
        stdout.flush()
        stderr.flush()
        link.send(("result", link.lease_key, result.SerializeToString()))
