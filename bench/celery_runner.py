"""Celery side of the suite: a redis-server (broker and results), one `celery worker` process
with a prefork pool of 2, canvas chains and chords of the same shapes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.common import Result, timed_runs, to_unit
from bench.lightflow_runner import workload_counts
from bench.shapes import INITIAL_PAYLOAD, Sizes
from lightflow_cli._procs import ServiceProcess
from lightflow_cli.stack import start_redis

ROOT = Path(__file__).resolve().parent.parent
_TIMEOUT_S = 600


class CeleryBench:
    def __init__(self, folder: Path, sizes: Sizes) -> None:
        self.folder = folder
        self.sizes = sizes
        self.redis: ServiceProcess | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.app: Any = None

    def __enter__(self) -> CeleryBench:
        try:
            self.redis = start_redis(self.folder / "celery-redis", self.folder)
            os.environ["LIGHTFLOW_BENCH_CELERY_URL"] = self.redis.address
            from bench import celery_app  # noqa: PLC0415 - an optional extra

            # The client sends tasks by name, as a client without the task code would.
            self.app = celery_app.new_app(self.redis.address)
            env = {
                **os.environ,
                "LIGHTFLOW_BENCH_CELERY_URL": self.redis.address,
                # Celery refuses pickle as root; the bench runs on loopback only.
                "C_FORCE_ROOT": "1",
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])
                ),
            }
            with (self.folder / "celery-worker.log").open("ab") as log:
                self.worker = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "bench.celery_app",
                        "worker",
                        "--pool",
                        "prefork",
                        "--concurrency",
                        "2",
                        "--loglevel",
                        "WARNING",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            self._wait_until_up()
        except BaseException:
            self.close()
            raise
        return self

    def _wait_until_up(self, timeout: float = 120.0) -> None:
        """Up once it runs a task; a worker that exits first is an error with its log."""
        from celery.exceptions import TimeoutError as CeleryTimeout  # noqa: PLC0415

        assert self.worker is not None
        deadline = time.monotonic() + timeout
        pending = self.app.signature("bench.hop", args=(INITIAL_PAYLOAD,)).delay()
        while True:
            if self.worker.poll() is not None:
                tail = (self.folder / "celery-worker.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"celery worker exited ({self.worker.returncode}):\n{tail}")
            try:
                pending.get(timeout=1)
                return
            except CeleryTimeout:
                if time.monotonic() > deadline:
                    raise

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.app is not None:
            self.app.close()
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, signal.SIGTERM)  # warm shutdown of master and pool
            try:
                self.worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait()
        if self.redis is not None:
            self.redis.stop()

    def run_once(self, workload: str) -> None:
        from celery import chain, chord  # noqa: PLC0415 - an optional extra

        def task(name: str, *args: Any) -> Any:
            return self.app.signature(f"bench.{name}", args=args)

        sizes = self.sizes
        if workload in ("W1", "W2"):
            n = sizes.w1_chain if workload == "W1" else sizes.chain
            canvas = chain(task("hop", INITIAL_PAYLOAD), *[task("hop") for _ in range(n - 1)])
            expected: object = {**INITIAL_PAYLOAD, "step": n}
        elif workload == "W3":
            canvas = chain(
                self.app.signature("bench.source", immutable=True),
                chord([task("fan") for _ in range(sizes.fan_out)], task("join")),
            )
            expected = sizes.fan_out
        else:
            canvas = chain(
                task("make_array", sizes.array_items),
                *[task("step_array") for _ in range(sizes.array_hops - 1)],
                task("summarize"),
            )
            expected = float(sizes.array_items - 1 + sizes.array_hops - 1)
        result = canvas.apply_async().get(timeout=_TIMEOUT_S)
        if result != expected:
            raise RuntimeError(f"celery {workload}: got {result!r}, expected {expected!r}")

    def measure(self, workload: str, repeat: int) -> Result:
        tasks, hops = workload_counts(workload, self.sizes)
        seconds = timed_runs(lambda: self.run_once(workload), repeat)
        samples = [to_unit(workload, s, tasks=tasks, hops=hops) for s in seconds]
        return Result(workload, "celery", samples)
