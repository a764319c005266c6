"""A worker's stream (WorkService.Work) on this replica, free of gRPC: three threads serve
it. The caller's thread takes what `outgoing` yields and sends it; a reader thread takes the
worker's messages (results, printed lines, heartbeats, credit); a lease thread blocks on the
worker's queues in redis whenever the worker has credit. A redis restart is waited out: a
result or a printed line must not be lost because redis was briefly away."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TypeVar

import redis
import structlog

from lightflow_scheduler.dispatch import Dispatch, WorkerSession
from lightflow_scheduler.errors import InternalError, SchedulerError
from lightflow_scheduler.model import Lease, LeaseRef, Outgoing, WorkMessage

log = structlog.get_logger(__name__)

T = TypeVar("T")

# How long the lease thread blocks on redis before it checks that the stream is open.
READ_BLOCK_MS = 1_000
# How long a worker's message waits for redis to come back before its stream is closed.
REDIS_RETRY_S = 30.0


def retry_redis(call: Callable[[], T]) -> T:
    """Runs a write of a worker's message, waiting out a redis restart."""
    deadline = time.monotonic() + REDIS_RETRY_S
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


class WorkStream:
    def __init__(self, dispatch: Dispatch, session: WorkerSession) -> None:
        self._dispatch = dispatch
        self.session = session
        # None: the stream closed.
        self._outbox: queue.SimpleQueue[Outgoing | None] = queue.SimpleQueue()

    def start(self, messages: Iterable[WorkMessage]) -> None:
        """Starts the reader (of `messages`, which end when the worker goes away) and the
        lease thread."""
        threading.Thread(target=self._read, args=(messages,), daemon=True).start()
        threading.Thread(target=self._lease, daemon=True).start()

    def close(self) -> None:
        """The stream ended (either side): the threads stop, `outgoing` returns."""
        self.session.close()
        self._outbox.put(None)

    def outgoing(self) -> Iterator[Outgoing]:
        """What to send the worker, until the stream closes; then `session.error` says why,
        when it ended on an error."""
        while (item := self._outbox.get()) is not None:
            yield item

    def release_unsent(self) -> None:
        """Puts back the leases queued for the worker that were never sent."""
        self.session.close()
        unsent = []
        while True:
            try:
                item = self._outbox.get_nowait()
            except queue.Empty:
                break
            if item is not None and item.lease is not None:
                unsent.append(item.lease)
        if unsent:
            with contextlib.suppress(redis.RedisError):
                self._dispatch.release(unsent)

    def _fail(self, error: SchedulerError) -> None:
        self.session.error = error
        self.close()

    def _read(self, messages: Iterable[WorkMessage]) -> None:
        session, dispatch = self.session, self._dispatch
        try:
            for message in messages:
                if message.credit:
                    session.add_credit(message.credit)
                if message.result is not None:
                    # The fast path: the result and the worker's next tasks in one script.
                    _, leases = retry_redis(partial(dispatch.complete, session, message.result))
                    self._hand_out(leases, recorded=message.result.lease)
                elif message.lines is not None:
                    retry_redis(partial(dispatch.record_output, message.lines))
                elif message.heartbeat is not None:
                    # A missed heartbeat costs nothing while redis is away: no lease can
                    # expire without redis either.
                    with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                        for overdue in dispatch.heartbeat(session, message.heartbeat):
                            self._outbox.put(Outgoing(cancel=overdue))
                elif message.release is not None:
                    dispatch.release_refs(message.release)
                elif message.stop_leases:
                    session.stop_leases()
        except SchedulerError as err:
            # A message the worker should not have sent: the stream ends, saying why.
            self.session.error = err
        except Exception:
            log.exception("work_stream_failed", worker_id=session.worker_id)
            self.session.error = InternalError("the scheduler failed on a work message")
        finally:
            self.close()

    def _hand_out(self, leases: list[Lease], recorded: LeaseRef | None = None) -> bool:
        """Queues leases for the stream, the acknowledgement of a recorded result riding on
        the first; False (and the leases released) if the stream closed."""

        # Under the session's lock: either the stream is open and the leases are queued for
        # it (and released from the queue if it closes), or they are released here.
        def queue_them() -> None:
            acknowledged = recorded
            for lease in leases:
                self._outbox.put(Outgoing(lease=lease, recorded=acknowledged))
                acknowledged = None
            if acknowledged is not None:
                self._outbox.put(Outgoing(recorded=acknowledged))

        if self.session.while_open(queue_them):
            return True
        if leases:
            with contextlib.suppress(redis.RedisError):
                self._dispatch.release(leases)
        return False

    def _lease(self) -> None:
        session = self.session
        failing_since: float | None = None
        while not session.closed:
            if not session.wait_for_credit(timeout=1.0):
                continue
            try:
                leases = self._dispatch.next_leases(session, READ_BLOCK_MS)
                failing_since = None
            except (redis.ConnectionError, redis.TimeoutError) as err:
                # Wait out a redis restart; the stream (and what the worker queued on it)
                # stays open. Only a long outage closes it, and the worker tries elsewhere.
                now = time.monotonic()
                failing_since = failing_since or now
                if now - failing_since > REDIS_RETRY_S:
                    log.warning("lease_read_failed", error=str(err))
                    self.close()
                    return
                time.sleep(0.2)
                continue
            except Exception as err:  # the stream must not look open with nobody leasing
                log.exception("lease_read_failed", error=str(err))
                self._fail(InternalError("the scheduler failed to hand out work"))
                return
            if not self._hand_out(leases):
                return
