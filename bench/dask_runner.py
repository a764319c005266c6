"""Dask side of the suite: a LocalCluster of 2 worker processes with 1 thread each, futures
of the same shapes submitted from the client."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType
from typing import Any

from bench import shapes
from bench.common import Result, timed_runs, to_unit
from bench.lightflow_runner import workload_counts
from bench.shapes import INITIAL_PAYLOAD, Sizes

ROOT = Path(__file__).resolve().parent.parent


class DaskBench:
    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> DaskBench:
        from distributed import Client, LocalCluster  # noqa: PLC0415 - an optional extra

        # Worker processes are spawned: they import bench.shapes from the repository.
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        try:
            self.cluster = LocalCluster(
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def run_once(self, workload: str) -> None:
        client = self.client
        sizes = self.sizes
        if workload in ("W1", "W2"):
            n = sizes.w1_chain if workload == "W1" else sizes.chain
            future = client.submit(shapes.hop, INITIAL_PAYLOAD, pure=False)
            for _ in range(n - 1):
                future = client.submit(shapes.hop, future, pure=False)
            expected: object = {**INITIAL_PAYLOAD, "step": n}
        elif workload == "W3":
            source = client.submit(shapes.source, pure=False)
            fan = client.map(shapes.fan, [source] * sizes.fan_out, pure=False)
            future = client.submit(shapes.join, fan, pure=False)
            expected = sizes.fan_out
        else:
            future = client.submit(shapes.make_array, sizes.array_items, pure=False)
            for _ in range(sizes.array_hops - 1):
                future = client.submit(shapes.step_array, future, pure=False)
            future = client.submit(shapes.summarize, future, pure=False)
            expected = float(sizes.array_items - 1 + sizes.array_hops - 1)
        result = future.result()
        if result != expected:
            raise RuntimeError(f"dask {workload}: got {result!r}, expected {expected!r}")

    def measure(self, workload: str, repeat: int) -> Result:
        tasks, hops = workload_counts(workload, self.sizes)
        seconds = timed_runs(lambda: self.run_once(workload), repeat)
        samples = [to_unit(workload, s, tasks=tasks, hops=hops) for s in seconds]
        return Result(workload, "dask", samples)
