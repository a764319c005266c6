"""The workloads' shapes and the task functions Celery and Dask run (Lightflow runs the same
bodies from workflow files the bench writes, see bench/lightflow_runner.py).

Every engine gets the same graph and the same payloads:

- W1: a chain of 3 `hop` tasks passing a small dict; submit → result of the last task.
- W2: the same chain with `chain` tasks (100), reported per task.
- W3: `source` → `fan` x N → `join` (N = 1000); tasks per second over the N + 2 tasks.
- W4: `make_array` (an 8 MiB float64 array) → `step_array` x (hops - 1), each returning a new
  array (input + 1) → `summarize` (returns a float); the array is handed on `hops` times,
  reported per hand-over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MIB = 1024 * 1024
INITIAL_PAYLOAD: dict[str, Any] = {"step": 0, "name": "bench", "scores": [0.5, 0.25, 0.125]}


@dataclass(frozen=True)
class Sizes:
    chain: int  # W2: tasks in the chain
    fan_out: int  # W3: tasks between source and join
    array_mib: int  # W4: array size
    array_hops: int  # W4: hand-overs of the array
    repeat: dict[str, int]  # measured runs per workload (after the warm-up runs)
    w1_chain: int = 3

    @property
    def array_items(self) -> int:
        return self.array_mib * MIB // 8


FULL = Sizes(
    chain=100,
    fan_out=1000,
    array_mib=8,
    array_hops=10,
    repeat={"W1": 40, "W2": 8, "W3": 8, "W4": 8},
)
TINY = Sizes(
    chain=10, fan_out=50, array_mib=1, array_hops=3, repeat={"W1": 1, "W2": 1, "W3": 1, "W4": 1}
)


def hop(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "step": payload["step"] + 1}


def source() -> dict[str, Any]:
    return {"step": 0}


def fan(_upstream: dict[str, Any]) -> dict[str, Any]:
    return {"step": 1}


def join(results: list[Any]) -> int:
    return len(results)


def make_array(items: int) -> npt.NDArray[np.float64]:
    return np.arange(items, dtype=np.float64)


def step_array(array: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return array + 1


def summarize(array: npt.NDArray[np.float64]) -> float:
    return float(array[-1])
