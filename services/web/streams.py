"""Live updates as server-sent events: a run's events, and the changes of the newest runs.

A run's events come from WatchRun (through the SDK's `Run.events`, which moves between
replicas) on a thread per stream; the stream's coroutine forwards them. Each watch lasts at
most `_WATCH_S` before it is made again from the last event, so the thread of a browser that
went away ends within that time. The runs feed is one poller per instance, whatever the
number of browsers: it adds nothing to the task hop (docs/http-api.md)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog

from lightflow import Client, LightflowError
from lightflow_web import views

log = structlog.get_logger(__name__)

# Seconds a watch lasts before it is made again; a keep-alive comment after this long quiet.
_WATCH_S = 15.0
_KEEPALIVE_S = 15.0
# Events a stream holds for a slow browser before its thread waits.
_BUFFER = 1000
# How often the runs feed reads the newest runs, and how many.
_FEED_INTERVAL_S = 1.0
_FEED_RUNS = 100


def message(data: dict[str, Any], event_id: str = "", kind: str = "") -> str:
    head = (f"id: {event_id}\n" if event_id else "") + (f"event: {kind}\n" if kind else "")
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


class StreamSlots:
    """Bounds the streams one instance serves at once."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._free <= 0:
                return False
            self._free -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._free += 1


async def run_events(client: Client, run_id: str, after: str) -> AsyncIterator[str]:
    """The run's events after `after` ("" for all), live, ending after its final event."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=_BUFFER)
    gone = threading.Event()

    def put(item: Any) -> None:
        if not gone.is_set():
            asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()

    def pump() -> None:
        cursor = after
        try:
            while not gone.is_set():
                try:
                    for event in client.run(run_id).events(cursor, timeout=_WATCH_S):
                        cursor = event.id
                        put(event)
                        if gone.is_set():
                            return
                    put(None)  # the final event came
                    return
                except TimeoutError:
                    continue
        except (LightflowError, RuntimeError) as err:
            put(err)

    threading.Thread(target=pump, name=f"watch-{run_id[:8]}", daemon=True).start()
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is None:
                yield message({}, kind="end")
                return
            if isinstance(item, Exception):
                yield message(
                    {
                        "error": {
                            "code": getattr(item, "code", "") or "INTERNAL",
                            "message": str(item),
                        }
                    },
                    kind="error",
                )
                return
            yield message(views.event(item), item.id)
    finally:
        gone.set()
        while not queue.empty():  # a pump waiting on a full queue goes on, and sees it is over
            queue.get_nowait()


class RunsFeed:
    """Tells every subscribed browser when one of the newest runs starts or changes status.
    One poller thread, running while anyone listens."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._subscribers: dict[asyncio.Queue[Any], asyncio.AbstractEventLoop] = {}
        self._seen: dict[str, tuple[str, str | None]] = {}
        self._poller: threading.Thread | None = None

    async def follow(self) -> AsyncIterator[str]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=_BUFFER)
        with self._lock:
            self._subscribers[queue] = asyncio.get_running_loop()
            if self._poller is None or not self._poller.is_alive():
                self._poller = threading.Thread(target=self._poll, name="runs-feed", daemon=True)
                self._poller.start()
        try:
            yield ": following\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:  # too slow: dropped; the browser reconnects
                    return
                yield message(item)
        finally:
            with self._lock:
                self._subscribers.pop(queue, None)

    def _poll(self) -> None:
        while True:
            with self._lock:
                if not self._subscribers:
                    self._poller = None
                    self._seen.clear()
                    return
            try:
                runs = self._client.runs_page(limit=_FEED_RUNS).runs
            except LightflowError as err:
                log.warning("runs_feed_read_failed", error=str(err))
                time.sleep(_FEED_INTERVAL_S)
                continue
            first = not self._seen
            for run in reversed(runs):  # oldest first, so a browser inserts in order
                state = (run.status, views.iso(run.ended_at))
                if self._seen.get(run.id) != state:
                    self._seen[run.id] = state
                    if not first:
                        self._broadcast({"type": "run", "run": views.run_summary(run)})
            if len(self._seen) > 4 * _FEED_RUNS:
                keep = {r.id for r in runs}
                self._seen = {k: v for k, v in self._seen.items() if k in keep}
            time.sleep(_FEED_INTERVAL_S)

    def _broadcast(self, item: dict[str, Any]) -> None:
        with self._lock:
            subscribers = list(self._subscribers.items())
        for queue, loop in subscribers:
            loop.call_soon_threadsafe(_offer, queue, item)


def _offer(queue: asyncio.Queue[Any], item: dict[str, Any]) -> None:
    if queue.full():
        queue.get_nowait()
        queue.put_nowait(None)  # tell the stream it fell behind
        return
    queue.put_nowait(item)
