"""What every engine's runner shares: timing runs, results, the redis helpers."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WORKLOADS = ("W1", "W2", "W3", "W4")
ENGINES = ("lightflow", "celery", "dask")
UNITS = {"W1": "ms", "W2": "ms/hop", "W3": "tasks/s", "W4": "ms/hop"}
TITLES = {
    "W1": "W1: 3-task chain, submit → result",
    "W2": "W2: chain of {chain} no-op tasks passing a small dict, per hop",
    "W3": "W3: 1 → {fan_out} → 1 fan-out/fan-in of no-op tasks",
    "W4": "W4: {array_mib} MiB numpy array handed along {array_hops} hops, per hop",
}


@dataclass
class Result:
    """The measured runs of one workload on one engine, in the workload's unit."""

    workload: str
    engine: str
    samples: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def unit(self) -> str:
        return UNITS[self.workload]

    @property
    def higher_is_better(self) -> bool:
        return self.workload == "W3"

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "workload": self.workload,
            "engine": self.engine,
            "unit": self.unit,
            "samples": self.samples,
            "error": self.error,
        }
        if self.samples:
            data |= {"median": self.median, "min": min(self.samples), "max": max(self.samples)}
        return data


# Runs not counted on fresh processes: each engine loads a task's code and its imports at its
# first use in a process (a Lightflow task process unpickles a task the first time it runs it,
# one process after the other), and W4's first two runs on a fresh stack took 4-8 times as
# long as the rest.
WARMUP_RUNS = 3


def timed_runs(
    run_once: Callable[[], object], repeat: int, *, warmup: int = WARMUP_RUNS
) -> list[float]:
    """Seconds each of `repeat` calls of `run_once` took, after `warmup` calls not counted."""
    for _ in range(warmup):
        run_once()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run_once()
        seconds.append(time.perf_counter() - started)
    return seconds


def to_unit(workload: str, seconds: float, *, tasks: int, hops: int) -> float:
    """A run's wall time in the workload's unit: ms, ms per hop, or tasks per second."""
    if workload == "W1":
        return seconds * 1000
    if workload == "W3":
        return tasks / seconds
    return seconds * 1000 / hops
