"""What a worker does with printed lines: cut, admitted at a rate, counted when dropped, the
last ones kept; and the outbox that sends control messages before any line."""

from __future__ import annotations

from lightflow.v1 import scheduler_pb2
from lightflow_worker.output import CLOSED, Outbox, OutputLimits, TaskOutputLimiter


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_long_line_is_cut_with_a_marker() -> None:
    limiter = TaskOutputLimiter(OutputLimits(max_line_chars=100))
    [(stream, text)] = limiter.admit("stdout", "y" * 1000)
    assert stream == "stdout"
    assert text == "y" * 100 + " [lightflow: line cut, 900 more characters]"


def test_lines_past_the_rate_are_dropped_counted_and_the_last_ones_kept() -> None:
    clock = _Clock()
    limiter = TaskOutputLimiter(OutputLimits(lines_per_s=10, bytes_per_s=1e9), clock)
    sent = [line for n in range(100) for line in limiter.admit("stdout", f"line {n}")]
    assert [text for _, text in sent] == [f"line {n}" for n in range(20)]  # a 2 s burst
    closing = limiter.close()
    marker, *tail = closing
    assert marker[0] == "stderr"
    assert marker[1].startswith("[lightflow: 60 lines (")
    assert "its last 20 lines follow" in marker[1]
    assert [text for _, text in tail] == [f"line {n}" for n in range(80, 100)]


def test_a_marker_comes_before_the_first_line_admitted_after_drops() -> None:
    clock = _Clock()
    limiter = TaskOutputLimiter(OutputLimits(lines_per_s=1, bytes_per_s=1e9), clock)
    for n in range(5):
        limiter.admit("stdout", f"line {n}")  # 2 admitted, 3 dropped
    clock.now = 2.0
    sent = limiter.admit("stdout", "later")
    assert sent[0][1].startswith("[lightflow: 3 lines (")
    assert sent[1] == ("stdout", "later")
    assert limiter.close() == []


def _output(text: str) -> scheduler_pb2.TaskOutput:
    return scheduler_pb2.TaskOutput(run_id="r", text=text)


def test_the_outbox_sends_control_messages_before_output() -> None:
    outbox = Outbox(OutputLimits())
    assert outbox.put_output("a", _output("printed"))
    heartbeat = scheduler_pb2.WorkRequest(heartbeat=scheduler_pb2.Heartbeat())
    outbox.put(heartbeat)
    assert outbox.get() == heartbeat
    batch = outbox.get()
    assert isinstance(batch, scheduler_pb2.WorkRequest)
    assert [line.text for line in batch.output_batch.lines] == ["printed"]
    outbox.close()
    assert outbox.get() is CLOSED


def test_the_outbox_is_bounded_and_takes_tasks_in_turn() -> None:
    outbox = Outbox(OutputLimits(buffer_lines=6))
    accepted = [outbox.put_output("chatty", _output(f"c{n}")) for n in range(10)]
    assert accepted == [True] * 6 + [False] * 4
    assert outbox.take_output("chatty")[0].text == "c0"
    for n in range(3):
        outbox.put_output("chatty", _output(f"c{n}"))
        outbox.put_output("quiet", _output(f"q{n}"))
    batch = outbox.get()
    assert isinstance(batch, scheduler_pb2.WorkRequest)
    assert [line.text for line in batch.output_batch.lines] == ["c0", "q0", "c1", "q1", "c2", "q2"]
