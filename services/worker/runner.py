"""The task process: one per busy slot, started with spawn (never forked with a live channel).
It receives leases from the worker over a pipe, runs the task's callback and sends back its
printed lines, join notices and the result."""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import functools
import io
import linecache
import os
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection

import lightflow
import lightflow_worker
from lightflow import LightflowError
from lightflow._grpc import CurrentCredential
from lightflow._replicas import Replicas
from lightflow._store import StoreClient, TaskStore
from lightflow._taskdata import BlobClient, decode_task_data, encode_task_data
from lightflow._tls import TlsOptions
from lightflow._wire import pipe
from lightflow._wire.failures import from_exception
from lightflow._wire.headers import CREATE_IF_MISSING
from lightflow._workflow import SourceEntry, decode_task, source_entry
from lightflow.models import (
    AbortWorkflow,
    Action,
    BaseTask,
    MultiTaskData,
    StopTask,
    TaskContext,
    TaskData,
    TaskSignal,
    TaskStatus,
)
from lightflow.v1 import common_pb2, scheduler_pb2

_PR_SET_PDEATHSIG = 1
# Frames of these folders above a task's own code are ours (the runner calling the task),
# not the user's: a failure shows the user's frames as a local run would.
_ENGINE_DIRS = tuple(
    os.path.dirname(module.__file__ or "") + os.sep for module in (lightflow, lightflow_worker)
)
# A printed line longer than this is sent cut (the worker cuts shorter still, see
# OutputLimits); a line without end is not held in memory whole.
_MAX_PENDING_CHARS = 64 * 1024


def lease_key(ref: scheduler_pb2.LeaseRef) -> str:
    """Identifies a hand-out: entry ids are unique within one queue's stream only."""
    return f"{ref.queue}/{ref.entry_id}"


class ParentLink:
    """Messages to the worker process; several threads of a task may print at once."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def send(self, message: pipe.ChildMessage) -> None:
        raw = pipe.encode_child(message)
        with self._lock:
            self._conn.send_bytes(raw)

    def blocked(self, blocked: bool) -> None:
        self.send(pipe.Blocked() if blocked else pipe.Unblocked())


class LeaseDocuments:
    """How the current task's store calls find its run's document (RunDocuments): a run
    without arguments has none until its tasks' first call creates it. The worker hears of
    the task's first call before it is made (pipe.StoreUsed), so the run's end removes the
    document even when the task dies right after."""

    def __init__(self, link: ParentLink) -> None:
        self._link = link
        self._run_id = ""
        self._creates = False
        self._told = True

    def start(self, lease: scheduler_pb2.TaskLease) -> None:
        self._run_id = lease.run_id
        self._creates = not lease.document_has_arguments
        self._told = False

    def metadata(self, run_id: str) -> tuple[tuple[str, str], ...]:
        if run_id != self._run_id:  # the run credential opens no other run anyway
            return ()
        if not self._told:
            self._told = True  # a second message from a racing thread is harmless
            self._link.send(pipe.StoreUsed())
        return (CREATE_IF_MISSING,) if self._creates else ()


class _LineWriter(io.TextIOBase):
    """Replaces sys.stdout/stderr: each complete line goes to the worker, labelled there
    with the task it came from."""

    def __init__(self, link: ParentLink, stream: str) -> None:
        self._link = link
        self._stream = stream
        self._partial = ""
        self._cut = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._send(line)
        if len(self._partial) > _MAX_PENDING_CHARS:
            self._cut += len(self._partial) - _MAX_PENDING_CHARS
            self._partial = self._partial[:_MAX_PENDING_CHARS]
        return len(text)

    def _send(self, line: str) -> None:
        if self._cut:
            line = f"{line} [lightflow: line cut, {self._cut:,} more characters]"
            self._cut = 0
        self._link.send(pipe.OutputLine(self._stream, line))

    def flush(self) -> None:
        if self._partial or self._cut:
            partial, self._partial = self._partial, ""
            self._send(partial)


class _DescriptorCapture:
    """Points file descriptor `fd` (1 or 2) at a pipe whose lines go to `writer`: what the
    task's subprocesses and C code print reaches the worker like print()'s lines, instead of
    the worker's log."""

    def __init__(self, fd: int, writer: _LineWriter) -> None:
        self._writer = writer
        self._read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self._idle = threading.Condition()
        self._busy = False
        threading.Thread(target=self._forward, name=f"fd{fd}", daemon=True).start()

    def _forward(self) -> None:
        while True:
            chunk = os.read(self._read_end, 65536)
            with self._idle:
                self._busy = True
            self._writer.write(chunk.decode(errors="replace"))
            with self._idle:
                self._busy = False
                self._idle.notify_all()

    def drain(self, timeout: float = 0.5) -> None:
        """Forwards what the pipe holds now (before the task's result goes)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = struct.unpack("i", fcntl.ioctl(self._read_end, termios.FIONREAD, b"\0" * 4))
            with self._idle:
                if not pending[0] and not self._busy:
                    break
                self._idle.wait(0.005)
        self._writer.flush()


def build_input(lease: scheduler_pb2.TaskLease, blobs: BlobClient | None) -> MultiTaskData:
    """One dataset per predecessor that ran, aliased by the edge's alias; or the data given
    to start_dag; or one empty dataset."""
    data = MultiTaskData()
    for dataset in lease.inputs:
        value = decode_task_data(dataset.data, lease.run_id, blobs)
        aliases = [dataset.alias] if dataset.alias else None
        data.add_dataset(dataset.task_name or lease.task_name, value, aliases=aliases)
    if len(data) == 0:
        data.add_dataset(lease.task_name, TaskData())
    return data


def _output_dataset(task_name: str, data: object) -> TaskData:
    """What a task hands its successors: its data, flattened to one dataset."""
    if isinstance(data, MultiTaskData):
        data.flatten(in_place=True)
        data.add_task_history(task_name)
        return data.default_dataset
    if isinstance(data, TaskData):
        return data
    raise TypeError(
        f"task '{task_name}' returned an Action holding a {type(data).__name__};"
        " it must hold the task's data"
    )


def run_task(
    lease: scheduler_pb2.TaskLease,
    task: BaseTask,
    store: TaskStore,
    signal: TaskSignal,
    hostname: str,
    blobs: BlobClient | None = None,
) -> tuple[scheduler_pb2.TaskResult, str]:
    """Runs callback_init, the task and callback_finally, with the original's semantics:
    None or an Action passes the data on; StopTask stops the task (and by default skips its
    successors); AbortWorkflow aborts the run; any other exception fails it. Returns the
    result and, when it failed, the failure's full traceback (see `from_exception`)."""
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
        dag_instance=lease.dag_instance,
    )
    data: MultiTaskData | None = None
    status = TaskStatus.Error
    trace = ""
    # how the task ended when callback_finally runs: the context of an error it raises
    ended: BaseException | None = None
    try:
        data = build_input(lease, blobs)
        if task.callback_init is not None:
            task.callback_init(data, store, signal, context)
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
        if action.limit_names is not None:
            result.has_limit = True
            result.limit.extend(action.limit_names)
        output = _output_dataset(lease.task_name, action.data)
        result.output.CopyFrom(encode_task_data(output, lease.run_id, blobs))
        result.status = common_pb2.TASK_STATUS_SUCCEEDED
        status = TaskStatus.Success
    except StopTask as err:
        ended = err
        status = TaskStatus.Stopped
        result.status = common_pb2.TASK_STATUS_STOPPED
        result.failure.CopyFrom(common_pb2.Failure(type="StopTask", message=err.message))
        if err.skip_successors:
            result.has_limit = True
        if data is not None:
            output = _output_dataset(lease.task_name, data)
            result.output.CopyFrom(encode_task_data(output, lease.run_id, blobs))
    except AbortWorkflow as err:
        ended = err
        status = TaskStatus.Aborted
        result.status = common_pb2.TASK_STATUS_ABORTED
        failure, trace = from_exception(err, _ENGINE_DIRS)
        result.failure.CopyFrom(failure)
    except Exception as err:
        ended = err
        result.status = common_pb2.TASK_STATUS_FAILED
        failure, trace = from_exception(err, _ENGINE_DIRS)
        result.failure.CopyFrom(failure)
    if task.callback_finally is not None:
        try:
            task.callback_finally(status, data, store, signal, context)
        except Exception as err:  # a failing clean-up fails the task, visibly
            if err.__context__ is None and err is not ended:
                # as a `finally:` block raising while the task's exception is on its way
                # would: the traceback shows how the task ended, then the clean-up's error
                err.__context__ = ended
            result.ClearField("output")
            result.ClearField("has_limit")
            result.ClearField("limit")
            result.status = common_pb2.TASK_STATUS_FAILED
            failure, trace = from_exception(err, _ENGINE_DIRS)
            result.failure.CopyFrom(failure)
    return result, trace


def ended_result(
    lease: scheduler_pb2.TaskLease,
    failure: common_pb2.Failure,
    status: common_pb2.TaskStatus = common_pb2.TASK_STATUS_FAILED,
) -> scheduler_pb2.TaskResult:
    """The result of a task that ended without output (failed, or stopped from outside)."""
    return scheduler_pb2.TaskResult(
        lease=lease.lease,
        run_id=lease.run_id,
        dag_instance=lease.dag_instance,
        task_name=lease.task_name,
        attempt=lease.attempt,
        status=status,
        failure=failure,
    )


def _encode(value: object, *, run_id: str, blobs: BlobClient) -> common_pb2.Payload:
    return encode_task_data(value, run_id, blobs)


def _die_with_parent() -> None:
    # A task process whose worker died must not live on: its lease is gone and the task is
    # handed to another worker, so it would only do the work twice.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the worker died before prctl took effect
        os._exit(1)


def child_main(
    conn: Connection, scheduler_addresses: Sequence[str], tls: TlsOptions | None = None
) -> None:
    """Entry point of a task process. It holds no token of the stack: each lease brings the
    run credential its calls carry, which opens them for that run only."""
    _die_with_parent()
    link = ParentLink(conn)
    stdout, stderr = _LineWriter(link, "stdout"), _LineWriter(link, "stderr")
    sys.stdout, sys.stderr = stdout, stderr
    captures = [
        _DescriptorCapture(1, _LineWriter(link, "stdout")),
        _DescriptorCapture(2, _LineWriter(link, "stderr")),
    ]
    credential = CurrentCredential()
    # Signals prefer another replica than the worker's stream: load and failures spread.
    addresses = [*scheduler_addresses[1:], *scheduler_addresses[:1]]
    replicas = Replicas(addresses, credential, tls=tls)
    stores: dict[str, StoreClient] = {}
    documents = LeaseDocuments(link)
    blob_clients: dict[str, BlobClient] = {}
    # The task of each (definition, DAG, task), unpickled once (its code is sent only once),
    # or why it could not be.
    tasks: dict[tuple[str, str, str], BaseTask | LightflowError] = {}
    # The workflow file (path, linecache entry) of each definition, registered for its
    # tracebacks before each of its tasks runs: two definitions of one file may hold
    # different texts.
    sources: dict[str, tuple[str, SourceEntry]] = {}
    while True:
        try:
            message = pipe.decode_parent(conn.recv_bytes())
        except (EOFError, OSError):
            return
        if isinstance(message, pipe.Stop):
            return
        lease = scheduler_pb2.TaskLease.FromString(message.lease)
        credential.value = message.credential
        store_address = message.store_address
        if store_address not in stores:
            stores[store_address] = StoreClient(
                store_address,
                credential,
                tls=tls,
                documents=documents,
                read_meta=replicas.read_meta,  # a live run's provenance is the schedulers'
            )
            blob_clients[store_address] = BlobClient(store_address, credential, tls=tls)
        documents.start(lease)
        store = TaskStore(stores[store_address], lease.run_id)
        blobs = blob_clients[store_address]
        signal = TaskSignal(
            replicas,
            lease.run_id,
            lease.dag_instance,
            link.blocked,
            encode_data=functools.partial(_encode, run_id=lease.run_id, blobs=blobs),
            task_name=lease.task_name,
        )
        key = (lease.definition_hash, lease.dag_name, lease.task_name)
        if message.source_path and message.source:
            text = message.source.decode(errors="replace")
            sources[lease.definition_hash] = (
                message.source_path,
                source_entry(message.source_path, text),
            )
        if lease.definition_hash in sources:
            path, entry = sources[lease.definition_hash]
            linecache.cache[path] = entry
        if key not in tasks:
            try:
                tasks[key] = decode_task(common_pb2.Payload.FromString(message.code))
            except LightflowError as err:
                tasks[key] = err
        task = tasks[key]
        if isinstance(task, LightflowError):
            failure, trace = from_exception(task, _ENGINE_DIRS)
            result = ended_result(lease, failure)
        else:
            result, trace = run_task(lease, task, store, signal, message.hostname, blobs)
        stdout.flush()
        stderr.flush()
        for capture in captures:
            capture.drain()
        link.send(pipe.Result(result.SerializeToString(), trace))
