"""What a worker does with the lines its tasks print: each task's lines are cut at a length
and admitted at a rate (the excess is dropped and counted, and a marker line says so), and
the lines waiting for the work stream are bounded, so a task that prints without end costs
the worker neither memory nor its heartbeats."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from lightflow.v1 import scheduler_pb2
from lightflow_common import defaults

# A batch of output lines on the work stream: at most this many, or this many bytes.
BATCH_LINES = 200
BATCH_BYTES = 256 * 1024


@dataclass(frozen=True)
class OutputLimits:
    """Per task: lines are cut at `max_line_chars`; `lines_per_s` and `bytes_per_s` are the
    sustained rates admitted (a burst of twice that passes); and the worker holds at most
    `buffer_lines` / `buffer_bytes` lines of all its tasks that the stream has not taken."""

    max_line_chars: int = defaults.MAX_LINE_CHARS
    lines_per_s: float = defaults.OUTPUT_LINES_PER_S
    bytes_per_s: float = defaults.OUTPUT_BYTES_PER_S
    buffer_lines: int = 20_000
    buffer_bytes: int = 16 * 1024 * 1024


def _size(count: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,.0f} {unit}" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class TaskOutputLimiter:
    """One task attempt's lines: cut, admitted at the limits' rates, the rest counted. The
    last lines a task printed matter most (how it ended): the latest dropped ones are kept
    and sent after the last marker when the task ends."""

    MARKER_INTERVAL_S = 1.0
    TAIL_LINES = 20

    def __init__(self, limits: OutputLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lines = 2 * limits.lines_per_s  # a full bucket: a burst of two seconds' worth
        self._bytes = 2 * limits.bytes_per_s
        self._at = clock()
        self._dropped_lines = 0
        self._dropped_bytes = 0
        self._marked_at = self._at
        self._tail: deque[tuple[str, str]] = deque(maxlen=self.TAIL_LINES)

    def admit(self, stream: str, text: str) -> list[tuple[str, str]]:
        """The lines to send for one printed line: none when it is dropped; with a marker
        before it when lines were dropped since the last marker (at most one a second)."""
        limit = self._limits.max_line_chars
        if len(text) > limit:
            text = f"{text[:limit]} [lightflow: line cut, {len(text) - limit:,} more characters]"
        now = self._clock()
        elapsed, self._at = now - self._at, now
        limits = self._limits
        self._lines = min(2 * limits.lines_per_s, self._lines + elapsed * limits.lines_per_s)
        self._bytes = min(2 * limits.bytes_per_s, self._bytes + elapsed * limits.bytes_per_s)
        size = len(text) + 1
        if self._lines < 1 or self._bytes < size:
            self.count_dropped(size)
            self._tail.append((stream, text))
            return []
        self._lines -= 1
        self._bytes -= size
        self._tail.clear()  # dropped before this line: not the task's last lines
        lines = []
        if self._dropped_lines and now - self._marked_at >= self.MARKER_INTERVAL_S:
            lines.append(("stderr", self._marker()))
        lines.append((stream, text))
        return lines

    def count_dropped(self, size: int) -> None:
        self._dropped_lines += 1
        self._dropped_bytes += size

    def close(self) -> list[tuple[str, str]]:
        """The last marker, when lines were dropped since the one before, then the last
        lines the task printed if they were among them."""
        tail = list(self._tail)
        self._tail.clear()
        self._dropped_lines -= len(tail)
        self._dropped_bytes -= sum(len(text) + 1 for _, text in tail)
        if not self._dropped_lines:
            return tail
        return [("stderr", self._marker(last=len(tail))), *tail]

    def _marker(self, last: int = 0) -> str:
        limits = self._limits
        text = (
            f"[lightflow: {self._dropped_lines:,} lines ({_size(self._dropped_bytes)}) dropped:"
            f" this task printed more than {limits.lines_per_s:,.0f} lines or"
            f" {_size(limits.bytes_per_s)} a second"
            + (f"; its last {last} lines follow]" if last else "]")
        )
        self._dropped_lines = self._dropped_bytes = 0
        self._marked_at = self._clock()
        return text


CLOSED = object()


class Outbox:
    """What a worker's work stream sends: control messages (hello, results, heartbeats,
    credit, releases) in order and before any output; output lines, taken in turn from each
    task (a chatty task does not hold back another's lines) in batches, when no control
    message waits. Output is bounded: a line that does not fit is refused (and counted by
    its task's limiter)."""

    def __init__(self, limits: OutputLimits) -> None:
        self._limits = limits
        self._changed = threading.Condition()
        self._control: deque[scheduler_pb2.WorkRequest] = deque()
        self._output: OrderedDict[str, deque[scheduler_pb2.TaskOutput]] = OrderedDict()
        self._lines = 0
        self._bytes = 0
        self._closed = False

    def put(self, request: scheduler_pb2.WorkRequest) -> None:
        with self._changed:
            self._control.append(request)
            self._changed.notify()

    def put_output(self, key: str, line: scheduler_pb2.TaskOutput) -> bool:
        size = len(line.text) + 64
        with self._changed:
            if (
                self._lines >= self._limits.buffer_lines
                or self._bytes + size > self._limits.buffer_bytes
            ):
                return False
            self._output.setdefault(key, deque()).append(line)
            self._lines += 1
            self._bytes += size
            self._changed.notify()
        return True

    def take_output(self, key: str) -> list[scheduler_pb2.TaskOutput]:
        """The lines of one task still waiting, taken out (they go before its result)."""
        with self._changed:
            lines = list(self._output.pop(key, ()))
            self._lines -= len(lines)
            self._bytes -= sum(len(line.text) + 64 for line in lines)
            return lines

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()

    def get(self) -> scheduler_pb2.WorkRequest | object:
        """The next message to send, or CLOSED; blocks until there is one."""
        with self._changed:
            while not self._control and not self._output and not self._closed:
                self._changed.wait()
            if self._control:
                return self._control.popleft()
            if self._closed:
                return CLOSED
            return scheduler_pb2.WorkRequest(output_batch=self._batch())

    def drain_control(self) -> list[scheduler_pb2.WorkRequest]:
        """The control messages never sent (the stream ended)."""
        with self._changed:
            pending, self._control = list(self._control), deque()
            return pending

    def _batch(self) -> scheduler_pb2.OutputBatch:
        batch = scheduler_pb2.OutputBatch()
        size = 0
        while self._output and len(batch.lines) < BATCH_LINES and size < BATCH_BYTES:
            key, lines = next(iter(self._output.items()))
            line = lines.popleft()
            batch.lines.append(line)
            line_size = len(line.text) + 64
            size += line_size
            self._lines -= 1
            self._bytes -= line_size
            # Round robin: the task goes to the back, or away when it has no more lines.
            del self._output[key]
            if lines:
                self._output[key] = lines
        return batch
