"""The worker process: keeps one work stream to a scheduler replica (moving to the next when
it fails), runs each leased task in a task process, and reports output and results.

Slots: at most `concurrency` tasks run at once, except that a task blocked in `join_dags`
gives its slot back (so the DAGs it waits for can run, even with concurrency 1)."""

from __future__ import annotations

import contextlib
import hmac
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError

from lightflow._replicas import Replicas
from lightflow._wire import pipe
from lightflow._wire.failures import MAX_FAILURE_CHARS
from lightflow._wire.status import task_status_word
from lightflow.v1 import common_pb2, scheduler_pb2
from lightflow_common.credentials import RunCredentials, code_seal, derive_key
from lightflow_worker.config import WorkerConfig
from lightflow_worker.output import CLOSED, Outbox, TaskOutputLimiter
from lightflow_worker.runner import child_main, ended_result, lease_key

log = structlog.get_logger(__name__)

_SPAWN = multiprocessing.get_context("spawn")
# Lines of a task sent before its result go in messages of at most this many.
_FINAL_LINES_PER_MESSAGE = 1000


class TaskProcess:
    """One task process and the thread that reads its messages."""

    def __init__(self, agent: WorkerAgent) -> None:
        parent_end, child_end = _SPAWN.Pipe()
        self.conn: Connection = parent_end
        self.process = _SPAWN.Process(
            target=child_main,
            args=(child_end, list(agent.config.scheduler_addresses), agent.config.tls),
            daemon=True,
            name="lightflow-task",
        )
        self.process.start()
        child_end.close()
        self.lease_key = ""
        # (definition, DAG, task) whose code this process was sent.
        self._tasks_sent: set[tuple[str, str, str]] = set()
        threading.Thread(target=agent.read_task_process, args=(self,), daemon=True).start()

    def run(self, task: tuple[str, str, str], message: pipe.RunLease) -> None:
        """Runs a lease; the task's code (and the workflow file's text) crosses the pipe only
        the first time (the process keeps the task it unpickled, per definition and task)."""
        if task in self._tasks_sent:
            message = pipe.RunLease(
                message.lease,
                b"",
                message.store_address,
                message.hostname,
                message.worker_id,
                message.credential,
            )
        else:
            self._tasks_sent.add(task)
        self.conn.send_bytes(pipe.encode_parent(message))

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # the process may be gone already
            self.conn.send_bytes(pipe.encode_parent(pipe.Stop()))
        self.process.join(2)
        if self.process.is_alive():
            self.process.kill()


@dataclass
class RunningTask:
    lease: scheduler_pb2.TaskLease
    process: TaskProcess
    # Made when the task first prints (most tasks print nothing).
    limiter: TaskOutputLimiter | None = None
    blocked: bool = False
    # The task called its run's store (pipe.StoreUsed): its result says so.
    store_used: bool = False
    # Kills the attempt when it runs past the task's timeout.
    timer: threading.Timer | None = None


@dataclass(frozen=True)
class _TaskCode:
    """A task's code whose seal held, and the workflow file's path and text sealed with it."""

    code: bytes
    source_path: str = ""
    source: bytes = b""


@dataclass
class _Stream:
    outbox: Outbox
    # Credit sent on this stream that no lease has used yet.
    credit_out: int = 0


def _failed(lease: scheduler_pb2.TaskLease, kind: str, message: str) -> scheduler_pb2.TaskResult:
    return ended_result(lease, common_pb2.Failure(type=kind, message=message))


def _output_line(
    lease: scheduler_pb2.TaskLease, stream: str, text: str
) -> scheduler_pb2.TaskOutput:
    return scheduler_pb2.TaskOutput(
        run_id=lease.run_id,
        dag_instance=lease.dag_instance,
        task_name=lease.task_name,
        attempt=lease.attempt,
        stream=stream,
        text=text,
    )


class WorkerAgent:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.replicas = Replicas(config.scheduler_addresses, config.token, tls=config.tls)
        self._lock = threading.RLock()
        self._idle: list[TaskProcess] = []
        self._running: dict[str, RunningTask] = {}
        # Results sent but not yet recorded by a scheduler: sent again after a reconnect.
        self._unacked: dict[str, scheduler_pb2.TaskResult] = {}
        self._code: dict[tuple[str, str, str], _TaskCode] = {}
        self._stream: _Stream | None = None
        self._store_address = ""
        self._lease_timeout_s = 15.0
        self._draining = False
        self._stopped = threading.Event()
        self.connected = threading.Event()
        self._credentials = RunCredentials(config.token)
        self._code_key = derive_key(config.token, "code")

    # -- the work stream -----------------------------------------------------------------

    def run_forever(self) -> None:
        delay = 0.1
        while not self._stopped.is_set():
            address = self.replicas.current_address
            try:
                self._serve_stream(self.replicas.stubs())
                delay = 0.1
            except grpc.RpcError as err:
                log.warning(
                    "work_stream_lost",
                    scheduler=address,
                    code=str(err.code()),
                    details=err.details(),
                )
            except Exception:  # the stream loop must outlive any one bad message
                log.exception("work_stream_failed", scheduler=address)
            finally:
                self.connected.clear()
                with self._lock:
                    self._stream = None
            if self._stopped.is_set():
                return
            self.replicas.advance()
            self._stopped.wait(delay)  # reconnect backoff
            delay = min(delay * 2, 2.0)

    def _hello(self) -> scheduler_pb2.WorkRequest:
        return scheduler_pb2.WorkRequest(
            hello=scheduler_pb2.WorkerHello(
                worker_id=self.config.worker_id,
                hostname=self.config.hostname,
                pid=os.getpid(),
                queues=list(self.config.queues),
                concurrency=self.config.concurrency,
            )
        )

    def _serve_stream(self, stubs: Any) -> None:
        stream = _Stream(Outbox(self.config.output_limits))

        def requests() -> Iterator[scheduler_pb2.WorkRequest]:
            yield self._hello()
            while True:
                item = stream.outbox.get()
                if item is CLOSED:
                    return
                assert isinstance(item, scheduler_pb2.WorkRequest)
                yield item

        # A worker's stream lives as long as the worker: no deadline, keepalive pings instead.
        responses = stubs.work.Work(requests())
        heartbeat: threading.Thread | None = None
        try:
            for response in responses:
                if response.recorded:
                    with self._lock:
                        for ref in response.recorded:
                            self._unacked.pop(lease_key(ref), None)
                kind = response.WhichOneof("kind")
                if kind == "welcome":
                    self._store_address = response.welcome.store_address
                    self._lease_timeout_s = response.welcome.lease_timeout_ms / 1000
                    with self._lock:
                        self._stream = stream
                        if self._draining:
                            stream.outbox.put(scheduler_pb2.WorkRequest(stop_leases=True))
                        for result in self._unacked.values():
                            stream.outbox.put(scheduler_pb2.WorkRequest(result=result))
                        self._send_heartbeat()
                        self._grant_credit()
                    self.connected.set()
                    log.info("work_stream_open", scheduler=self.replicas.current_address)
                    if heartbeat is None:
                        heartbeat = threading.Thread(
                            target=self._heartbeat_loop, args=(stream,), daemon=True
                        )
                        heartbeat.start()
                elif kind == "lease":
                    self._start(response.lease)
                elif kind == "cancel":
                    self._cancel(lease_key(response.cancel))
        finally:
            stream.outbox.close()

    def _heartbeat_loop(self, stream: _Stream) -> None:
        # A timer for leases only: tells the schedulers the worker still holds its tasks.
        while not self._stopped.wait(max(0.1, self._lease_timeout_s / 3)):
            with self._lock:
                if self._stream is not stream:
                    return
                self._send_heartbeat()

    def _send_heartbeat(self) -> None:
        if self._stream is None:
            return
        refs = [task.lease.lease for task in self._running.values()]
        self._stream.outbox.put(
            scheduler_pb2.WorkRequest(heartbeat=scheduler_pb2.Heartbeat(leases=refs))
        )

    def _more_credit(self) -> int:
        """How many more tasks fit than the scheduler was told; counted as told."""
        if self._stream is None or self._draining:
            return 0
        active = sum(1 for task in self._running.values() if not task.blocked)
        more = self.config.concurrency - active - self._stream.credit_out
        if more <= 0:
            return 0
        self._stream.credit_out += more
        return more

    def _grant_credit(self) -> None:
        """Tells the scheduler how many more tasks fit; called whenever that changes."""
        more = self._more_credit()
        if more and self._stream is not None:
            self._stream.outbox.put(scheduler_pb2.WorkRequest(credit=more))

    def _send(self, request: scheduler_pb2.WorkRequest) -> None:
        with self._lock:
            if self._stream is not None:
                self._stream.outbox.put(request)

    # -- task processes ------------------------------------------------------------------

    def _start(self, lease: scheduler_pb2.TaskLease) -> None:
        key = (lease.definition_hash, lease.dag_name, lease.task_name)
        with self._lock:
            if self._draining:
                # Stopping: give it back at once rather than let it wait for the lease timeout.
                self._send(
                    scheduler_pb2.WorkRequest(release=scheduler_pb2.Release(leases=[lease.lease]))
                )
                return
            if self._stream is not None:
                self._stream.credit_out = max(0, self._stream.credit_out - 1)
            if lease.HasField("code"):
                self._accept_code(lease, key)
            code = self._code.get(key)
            process = self._idle.pop() if self._idle and code is not None else None
        if code is None:
            message = (
                f"the code of task '{lease.task_name}' carries no valid seal: it was not"
                " registered through a scheduler of this stack (or the stack's token changed"
                " since); the worker runs no such code"
            )
            self._finish(None, lease_key(lease.lease), _failed(lease, "TaskCodeRejected", message))
            return
        try:
            if process is None:
                process = TaskProcess(self)
            with self._lock:
                process.lease_key = lease_key(lease.lease)
                running = RunningTask(lease, process)
                self._running[process.lease_key] = running
                if lease.timeout_ms:
                    running.timer = threading.Timer(
                        lease.timeout_ms / 1000, self._time_out, args=(process.lease_key,)
                    )
                    running.timer.daemon = True
                    running.timer.start()
            process.run(
                key,
                pipe.RunLease(
                    lease=lease.SerializeToString(),
                    code=code.code,
                    store_address=self._store_address,
                    hostname=self.config.hostname,
                    worker_id=self.config.worker_id,
                    credential=self._credentials.mint(lease.run_id),
                    source_path=code.source_path,
                    source=code.source,
                ),
            )
        except (OSError, ValueError) as err:  # no process could be started or reached
            log.exception("task_process_unavailable")
            self._finish(
                None, lease_key(lease.lease), _failed(lease, "TaskProcessUnavailable", str(err))
            )
            return
        log.debug(
            "task_started",
            run_id=lease.run_id,
            task=f"{lease.dag_instance}/{lease.task_name}",
            attempt=lease.attempt,
        )

    def _accept_code(self, lease: scheduler_pb2.TaskLease, key: tuple[str, str, str]) -> None:
        """Keeps a task's code for its leases if its seal holds; it is code the worker runs."""
        code = lease.code.SerializeToString()
        seal = code_seal(self._code_key, *key, code, lease.source_path, lease.source)
        if hmac.compare_digest(seal, lease.code_seal):
            self._code[key] = _TaskCode(code, lease.source_path, lease.source.encode())
            return
        log.error(
            "task_code_rejected",
            run_id=lease.run_id,
            definition=lease.definition_hash,
            task=f"{lease.dag_name}/{lease.task_name}",
        )

    def read_task_process(self, process: TaskProcess) -> None:
        """Reads one task process's messages. The process runs user code: what it sends is
        checked, bounded and attributed to the lease the worker gave it, never to a lease
        the message names."""
        while True:
            try:
                raw = process.conn.recv_bytes(pipe.MAX_CHILD_MESSAGE_BYTES)
                message = pipe.decode_child(raw)
            except EOFError:  # the process ended (or is ending): it died
                self._task_process_died(process)
                return
            except (OSError, pipe.PipeProtocolError) as err:
                if process.process.is_alive():  # a message too long, or not one of ours
                    self._misbehaved(process, str(err))
                self._task_process_died(process)
                return
            with self._lock:
                task = self._running.get(process.lease_key) if process.lease_key else None
            if task is None:
                continue  # a late line of a task already ended (timed out, cancelled)
            if isinstance(message, pipe.OutputLine):
                self._output(task, message)
            elif isinstance(message, pipe.Result):
                try:
                    result = scheduler_pb2.TaskResult.FromString(message.result)
                except DecodeError as err:
                    self._misbehaved(process, f"an unreadable result: {err}")
                    continue
                self._own_result(task.lease, result)
                if message.trace:
                    self._log_failure(task.lease, result, message.trace)
                self._finish(process, process.lease_key, result)
            elif isinstance(message, pipe.StoreUsed):
                task.store_used = True
            else:
                with self._lock:
                    task.blocked = isinstance(message, pipe.Blocked)
                    self._grant_credit()

    @staticmethod
    def _own_result(lease: scheduler_pb2.TaskLease, result: scheduler_pb2.TaskResult) -> None:
        """The result is the lease's, whatever the task process wrote into it."""
        result.lease.CopyFrom(lease.lease)
        result.run_id = lease.run_id
        result.dag_instance = lease.dag_instance
        result.task_name = lease.task_name
        result.attempt = lease.attempt

    @staticmethod
    def _log_failure(
        lease: scheduler_pb2.TaskLease, result: scheduler_pb2.TaskResult, trace: str
    ) -> None:
        """The failure's full traceback, our frames above the task's code included: the
        result carries only the frames a user can act on (failures.user_traceback)."""
        log.info(
            "task_failed",
            run_id=lease.run_id,
            task=f"{lease.dag_instance}/{lease.task_name}",
            attempt=lease.attempt,
            status=task_status_word(result.status),
            exception=trace[-MAX_FAILURE_CHARS:],  # from the task process: bounded here
        )

    def _misbehaved(self, process: TaskProcess, why: str) -> None:
        """A task process that broke the pipe's protocol: its task fails, the process dies."""
        with self._lock:
            task = self._running.get(process.lease_key) if process.lease_key else None
        if task is not None:
            message = f"the process of task '{task.lease.task_name}' sent {why}; it was ended"
            self._finish(
                None, process.lease_key, _failed(task.lease, "TaskProcessMisbehaved", message)
            )
        log.warning("task_process_misbehaved", reason=why)
        process.process.kill()

    def _output(self, task: RunningTask, line: pipe.OutputLine) -> None:
        lease = task.lease
        with self._lock:
            stream = self._stream
            if task.limiter is None:
                task.limiter = TaskOutputLimiter(self.config.output_limits)
            limiter = task.limiter
            for name, text in limiter.admit(line.stream, line.text):
                if stream is None:
                    continue
                output = _output_line(lease, name, text)
                if not stream.outbox.put_output(lease_key(lease.lease), output):
                    limiter.count_dropped(len(text) + 1)

    def _finish(
        self, process: TaskProcess | None, key: str, result: scheduler_pb2.TaskResult
    ) -> None:
        with self._lock:
            running = self._running.pop(key, None)
            if running is not None and running.timer is not None:
                running.timer.cancel()
            # Whatever ended the task (it, its timeout, a stop, a crash), a document its store
            # calls may have created is to be removed with its run.
            result.store_used = running is not None and running.store_used
            self._unacked[key] = result
            if process is not None:
                process.lease_key = ""
                self._idle.append(process)
            if self._stream is not None:
                if running is not None:
                    self._send_final_output(self._stream, key, running)
                # The freed slot travels with the result: the scheduler hands out the next
                # task in the same step as it records this one.
                self._stream.outbox.put(
                    scheduler_pb2.WorkRequest(result=result, credit=self._more_credit())
                )
        log.debug(
            "task_finished",
            run_id=result.run_id,
            task=f"{result.dag_instance}/{result.task_name}",
            status=task_status_word(result.status),
        )

    @staticmethod
    def _send_final_output(stream: _Stream, key: str, running: RunningTask) -> None:
        """A task's lines still waiting go right before its result, so that they are
        recorded before its end (and its run's)."""
        lines = stream.outbox.take_output(key)
        lease = running.lease
        if running.limiter is not None:
            lines += [_output_line(lease, name, text) for name, text in running.limiter.close()]
        for start in range(0, len(lines), _FINAL_LINES_PER_MESSAGE):
            batch = scheduler_pb2.OutputBatch(lines=lines[start : start + _FINAL_LINES_PER_MESSAGE])
            stream.outbox.put(scheduler_pb2.WorkRequest(output_batch=batch))

    def _cancel(self, key: str) -> None:
        """The task's run or DAG instance was stopped and its grace is over: end it."""
        with self._lock:
            task = self._running.get(key)
        if task is None:
            return
        lease = task.lease
        message = (
            f"task '{lease.task_name}' was ended: its run or DAG was stopped"
            " and the task ran past the stop grace"
        )
        result = ended_result(
            lease,
            common_pb2.Failure(type="Stopped", message=message),
            common_pb2.TASK_STATUS_STOPPED,
        )
        result.has_limit = True  # its successors are not to run
        self._finish(None, key, result)
        task.process.process.kill()

    def _time_out(self, key: str) -> None:
        with self._lock:
            task = self._running.get(key)
        if task is None:
            return
        lease = task.lease
        message = (
            f"task '{lease.task_name}' ran longer than its timeout of"
            f" {lease.timeout_ms / 1000:g} s (attempt {lease.attempt})"
        )
        # Reported first, so the process's death below finds nothing left to report.
        self._finish(None, key, _failed(lease, "TaskTimeout", message))
        task.process.process.kill()

    def _task_process_died(self, process: TaskProcess) -> None:
        process.process.join(1)
        code = process.process.exitcode
        with self._lock:
            if process in self._idle:
                self._idle.remove(process)
            task = self._running.get(process.lease_key) if process.lease_key else None
        if task is None or self._stopped.is_set():
            return
        lease = task.lease
        message = (
            f"the process running task '{lease.task_name}' exited"
            f" with code {code} before the task ended"
        )
        self._finish(None, lease_key(lease.lease), _failed(lease, "TaskProcessDied", message))

    # -- shutdown ------------------------------------------------------------------------

    def stop(self, grace_s: float) -> None:
        """Takes no new task, lets running ones finish for up to `grace_s`, then exits."""
        with self._lock:
            self._draining = True
        self._send(scheduler_pb2.WorkRequest(stop_leases=True))
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._running and not self._unacked:
                    break
            time.sleep(0.05)  # shutdown only
        self._stopped.set()
        with self._lock:
            if self._stream is not None:
                self._stream.outbox.close()
            processes = self._idle + [task.process for task in self._running.values()]
        for process in processes:
            process.stop()
        self.replicas.close()
