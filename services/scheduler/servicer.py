"""gRPC layer of the scheduler: translates requests, maps domain errors to status codes."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, NoReturn, TypeVar

import grpc
import redis
import structlog

from lightflow._codec import ENCODING_BSON
from lightflow.v1 import common_pb2, scheduler_pb2, scheduler_pb2_grpc
from lightflow_common.server import check_run_access
from lightflow_scheduler.core import (
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    SchedulerCore,
    SchedulerError,
    StoreUnavailableError,
    WorkerSession,
)

log = structlog.get_logger(__name__)

T = TypeVar("T")

# Longest a JoinDags call may wait before the task calls again.
_MAX_JOIN_WAIT_MS = 30_000
# How long the lease reader blocks on redis before re-checking that the stream is open.
_READ_BLOCK_MS = 1_000


# gRPC carries a status message in a trailer of at most 16 KiB; a longer one is lost.
_MAX_MESSAGE_CHARS = 2000


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + " [...]"
    context.abort(code, message)
    raise AssertionError("unreachable")  # context.abort raises


def _guard(context: grpc.ServicerContext, call: Callable[[], T]) -> T:
    """Runs a core call and turns its domain errors into gRPC statuses with their message."""
    try:
        return call()
    except NotFoundError as err:
        _abort(context, grpc.StatusCode.NOT_FOUND, str(err))
    except InvalidArgumentError as err:
        _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(err))
    except StoreUnavailableError as err:
        _abort(context, grpc.StatusCode.UNAVAILABLE, str(err))
    except LimitError as err:
        _abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, str(err))
    except SchedulerError as err:
        _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(err))
    except (redis.ConnectionError, redis.TimeoutError) as err:
        log.warning("redis_unavailable", error=str(err))
        _abort(context, grpc.StatusCode.UNAVAILABLE, f"redis is unavailable: {err}")
    except redis.RedisError as err:
        log.exception("redis_error")
        _abort(context, grpc.StatusCode.INTERNAL, f"scheduler error: {err}")


class SchedulerServicer(scheduler_pb2_grpc.SchedulerServiceServicer):
    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def RegisterWorkflow(
        self, request: scheduler_pb2.RegisterWorkflowRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.RegisterWorkflowResponse:
        graph = _guard(context, lambda: self._core.register_workflow(request.definition))
        return scheduler_pb2.RegisterWorkflowResponse(
            name=request.definition.name, definition_hash=graph.definition_hash
        )

    def ListWorkflows(
        self, request: scheduler_pb2.ListWorkflowsRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListWorkflowsResponse:
        workflows = _guard(context, self._core.list_workflows)
        return scheduler_pb2.ListWorkflowsResponse(workflows=workflows)

    def StartRun(
        self, request: scheduler_pb2.StartRunRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StartRunResponse:
        return scheduler_pb2.StartRunResponse(run_id=self._start_run(request, context))

    def _start_run(
        self, request: scheduler_pb2.StartRunRequest, context: grpc.ServicerContext
    ) -> str:
        if not request.workflow_name:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "workflow_name is empty")
        if request.deadline_s < 0:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "deadline_s must not be negative")
        return _guard(
            context,
            lambda: self._core.start_run(
                request.workflow_name,
                dict(request.arguments),
                request.keep_data,
                request.deadline_s,
                request.request_id,
            ),
        )

    def GetRun(
        self, request: scheduler_pb2.GetRunRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.GetRunResponse:
        run = _guard(context, lambda: self._core.get_run(request.run_id))
        return scheduler_pb2.GetRunResponse(run=run)

    def ListRuns(
        self, request: scheduler_pb2.ListRunsRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListRunsResponse:
        runs = _guard(context, lambda: self._core.list_runs(request.status, request.limit))
        return scheduler_pb2.ListRunsResponse(runs=runs)

    def StopRun(
        self, request: scheduler_pb2.StopRunRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StopRunResponse:
        check_run_access(context, request.run_id)  # a task may stop its own run
        status = _guard(context, lambda: self._core.stop_run(request.run_id))
        return scheduler_pb2.StopRunResponse(status=status)

    def WatchRun(
        self, request: scheduler_pb2.WatchRunRequest, context: grpc.ServicerContext
    ) -> Iterator[scheduler_pb2.WatchRunResponse]:
        run_id = request.run_id
        if request.HasField("start"):
            # Submit and wait in one call: a client waiting for a run it starts saves a call.
            if run_id or request.after_event_id:
                _abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "a WatchRun that starts its run takes no run_id or after_event_id",
                )
            run_id = self._start_run(request.start, context)
            yield scheduler_pb2.WatchRunResponse(started_run_id=run_id)
        events = _guard(
            context,
            lambda: self._core.watch_run(
                run_id,
                request.after_event_id,
                context.is_active,
                frozenset(request.types),
            ),
        )
        while True:
            event = _guard(context, lambda: next(events, None))
            if event is None:
                return
            yield scheduler_pb2.WatchRunResponse(event=event)

    def ListWorkers(
        self, request: scheduler_pb2.ListWorkersRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ListWorkersResponse:
        workers = _guard(context, self._core.list_workers)
        return scheduler_pb2.ListWorkersResponse(workers=workers)


class SignalServicer(scheduler_pb2_grpc.SignalServiceServicer):
    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def StartDag(
        self, request: scheduler_pb2.StartDagRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StartDagResponse:
        check_run_access(context, request.run_id)
        data = request.data.SerializeToString() if request.HasField("data") else b""
        instance = _guard(
            context,
            lambda: self._core.start_dag(
                request.run_id, request.dag_name, data, request.request_id
            ),
        )
        return scheduler_pb2.StartDagResponse(dag_instance=instance)

    def JoinDags(
        self, request: scheduler_pb2.JoinDagsRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.JoinDagsResponse:
        check_run_access(context, request.run_id)
        wait_ms = min(request.wait_ms or 10_000, _MAX_JOIN_WAIT_MS)
        done = _guard(
            context,
            lambda: self._core.join_dags(
                request.run_id, list(request.dag_instances), request.caller_dag_instance, wait_ms
            ),
        )
        return scheduler_pb2.JoinDagsResponse(done=done)

    def StopDag(
        self, request: scheduler_pb2.StopDagRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.StopDagResponse:
        check_run_access(context, request.run_id)
        _guard(context, lambda: self._core.stop_dag(request.run_id, request.dag_instance))
        return scheduler_pb2.StopDagResponse()

    def IsStopped(
        self, request: scheduler_pb2.IsStoppedRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.IsStoppedResponse:
        check_run_access(context, request.run_id)
        run_stopped, dag_stopped = _guard(
            context, lambda: self._core.is_stopped(request.run_id, request.dag_instance)
        )
        return scheduler_pb2.IsStoppedResponse(run_stopped=run_stopped, dag_stopped=dag_stopped)

    def EnsureDocument(
        self, request: scheduler_pb2.EnsureDocumentRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.EnsureDocumentResponse:
        check_run_access(context, request.run_id)
        if not request.run_id:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "run_id is empty")
        available = _guard(context, lambda: self._core.create_document(request.run_id))
        return scheduler_pb2.EnsureDocumentResponse(available=available)

    def ReadMeta(
        self, request: scheduler_pb2.ReadMetaRequest, context: grpc.ServicerContext
    ) -> scheduler_pb2.ReadMetaResponse:
        check_run_access(context, request.run_id)  # a task reads its own run's only
        if not request.run_id:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "run_id is empty")
        in_store, found, value = _guard(
            context, lambda: self._core.read_meta(request.run_id, request.key)
        )
        if in_store or not found:
            return scheduler_pb2.ReadMetaResponse(in_store=in_store)
        return scheduler_pb2.ReadMetaResponse(
            found=True, value=common_pb2.Payload(encoding=ENCODING_BSON, data=value)
        )


_CLOSED = object()
# How long a worker's message waits for redis to come back before its stream is closed.
_REDIS_RETRY_S = 30.0


def _retry_redis(call: Callable[[], T]) -> T:
    """Runs a write of a worker's message, waiting out a redis restart: a result or a line
    of output must not be lost because redis was briefly away."""
    deadline = time.monotonic() + _REDIS_RETRY_S
    delay = 0.05
    while True:
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            log.warning("redis_unavailable_retrying")
            time.sleep(delay)  # backoff while redis restarts
            delay = min(delay * 2, 1.0)


class WorkServicer(scheduler_pb2_grpc.WorkServiceServicer):
    """One bidirectional stream per worker. Three threads serve it: the RPC's own thread
    writes responses from a queue; a reader thread takes the worker's messages; a lease
    thread blocks on the worker's queues in redis whenever the worker has free slots."""

    def __init__(self, core: SchedulerCore) -> None:
        self._core = core

    def Work(
        self, request_iterator: Iterator[scheduler_pb2.WorkRequest], context: grpc.ServicerContext
    ) -> Iterator[scheduler_pb2.WorkResponse]:
        first = next(request_iterator, None)
        if first is None or first.WhichOneof("kind") != "hello":
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "a work stream starts with hello")
        hello = first.hello
        if not hello.worker_id or not hello.queues:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "hello needs a worker_id and queues")
        session = WorkerSession(
            worker_id=hello.worker_id,
            hostname=hello.hostname,
            pid=hello.pid,
            queues=list(hello.queues),
            concurrency=hello.concurrency,
        )
        _guard(context, lambda: self._core.ensure_queue_groups(session.queues))
        _guard(context, lambda: self._core.worker_seen(session, 0))
        log.info("worker_connected", worker_id=session.worker_id, queues=session.queues)
        outbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def on_rpc_end() -> None:
            session.close()
            outbox.put(_CLOSED)

        context.add_callback(on_rpc_end)
        threading.Thread(
            target=self._read, args=(request_iterator, session, outbox), daemon=True
        ).start()
        threading.Thread(target=self._lease, args=(session, outbox), daemon=True).start()
        yield scheduler_pb2.WorkResponse(
            welcome=scheduler_pb2.WorkerWelcome(
                store_address=self._core.config.store_address,
                lease_timeout_ms=int(self._core.config.lease_timeout_s * 1000),
            )
        )
        try:
            while True:
                item = outbox.get()
                if item is _CLOSED:
                    if session.error is not None:
                        _abort(context, *session.error)
                    return
                yield item
        finally:
            session.close()
            self._release_unsent(session, outbox)
            log.info("worker_disconnected", worker_id=session.worker_id)

    def _release_unsent(self, session: WorkerSession, outbox: queue.SimpleQueue[Any]) -> None:
        unsent = []
        while True:
            try:
                item = outbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, scheduler_pb2.WorkResponse) and item.HasField("lease"):
                unsent.append(item.lease)
        if unsent:
            with contextlib.suppress(redis.RedisError):
                self._core.release_leases(unsent)

    def _read(
        self,
        requests: Iterator[scheduler_pb2.WorkRequest],
        session: WorkerSession,
        outbox: queue.SimpleQueue[Any],
    ) -> None:
        try:
            for request in requests:
                if request.credit:
                    session.add_credit(request.credit)
                kind = request.WhichOneof("kind")
                if kind == "result":
                    # The fast path: the result and the worker's next tasks in one script.
                    credit = session.reserve()
                    _, leases = _retry_redis(
                        partial(self._core.complete, session, request.result, credit)
                    )
                    session.refund(credit - len(leases))
                    self._hand_out(session, outbox, leases, recorded=request.result.lease)
                elif kind == "output_batch":
                    _retry_redis(partial(self._core.task_output, request.output_batch.lines))
                elif kind == "output":  # workers before output batches
                    _retry_redis(partial(self._core.task_output, [request.output]))
                elif kind == "heartbeat":
                    # A missed heartbeat costs nothing while redis is away: no lease can
                    # expire without redis either.
                    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                        for overdue in self._core.heartbeat(
                            session, list(request.heartbeat.leases)
                        ):
                            outbox.put(scheduler_pb2.WorkResponse(cancel=overdue))
                elif kind == "release":
                    self._core.release_refs(list(request.release.leases))
                elif kind == "stop_leases":
                    session.stop_leases()
        except grpc.RpcError:
            pass  # the worker went away; its leases expire unless it comes back
        except InvalidArgumentError as err:
            # A message the worker should not have sent: the stream ends, saying why.
            session.error = (grpc.StatusCode.INVALID_ARGUMENT, str(err))
        except NotFoundError as err:
            session.error = (grpc.StatusCode.NOT_FOUND, str(err))
        except Exception:
            log.exception("work_stream_failed", worker_id=session.worker_id)
            session.error = (grpc.StatusCode.INTERNAL, "the scheduler failed on a work message")
        finally:
            session.close()
            outbox.put(_CLOSED)

    def _hand_out(
        self,
        session: WorkerSession,
        outbox: queue.SimpleQueue[Any],
        leases: list[scheduler_pb2.TaskLease],
        recorded: scheduler_pb2.LeaseRef | None = None,
    ) -> bool:
        """Queues leases for the stream, the acknowledgement of a recorded result riding on
        the first; False (and the leases released) if the stream closed."""
        # Under the session's lock: either the stream is open and the leases are queued for
        # it (and released from the queue if it closes), or they are released here.
        with session.changed:
            if not session.closed:
                acknowledged = [recorded] if recorded is not None else []
                for lease in leases:
                    outbox.put(scheduler_pb2.WorkResponse(lease=lease, recorded=acknowledged))
                    acknowledged = []
                if acknowledged:
                    outbox.put(scheduler_pb2.WorkResponse(recorded=acknowledged))
                return True
        if leases:
            with contextlib.suppress(redis.RedisError):
                self._core.release_leases(leases)
        return False

    def _lease(self, session: WorkerSession, outbox: queue.SimpleQueue[Any]) -> None:
        failing_since: float | None = None
        while not session.closed:
            if session.wait_for_credit(timeout=1.0) <= 0:
                continue
            credit = session.reserve()
            try:
                leases = self._core.next_leases(session, self._core.redis, credit, _READ_BLOCK_MS)
                failing_since = None
                session.refund(credit - len(leases))
            except (redis.ConnectionError, redis.TimeoutError) as err:
                # Wait out a redis restart; the stream (and what the worker queued on it)
                # stays open. Only a long outage closes it, and the worker tries elsewhere.
                session.refund(credit)
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > _REDIS_RETRY_S:
                    log.warning("lease_read_failed", error=str(err))
                    session.close()
                    outbox.put(_CLOSED)
                    return
                time.sleep(0.2)
                continue
            except Exception as err:  # the stream must not look open with nobody leasing
                log.exception("lease_read_failed", error=str(err))
                session.refund(credit)
                session.error = (grpc.StatusCode.INTERNAL, "the scheduler failed to hand out work")
                session.close()
                outbox.put(_CLOSED)
                return
            if not self._hand_out(session, outbox, leases):
                return
