"""A run whose one task makes one store write, submit to final status.

    python bench/store_first_write.py [--runs 60] [--warmup 10]

Starts a local stack as `lfctl up` does (redis, store, schedulers, a worker, each a process),
registers a workflow of one task that calls `store.set` once, and prints the median
milliseconds of `Client.start_and_wait` over `--runs` runs. The task's call is the first on
its run's document: what it costs is the document's creation on the way. Not a test: numbers
depend on the machine (docs/benchmarks.md, issue 15).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from lightflow import Client
from lightflow_cli.stack import LocalStack, StackOptions

WORKFLOW = """
from lightflow.models import Dag
from lightflow.tasks import PythonTask


def write(data, store, signal, context):
    store.set('written', True)


d = Dag('main')
d.define({PythonTask(name='write', callback=write): None})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "logs").mkdir()
        stack = LocalStack(StackOptions(log_dir=folder / "logs")).start()
        try:
            client = Client(",".join(stack.scheduler_addresses), token=stack.options.token)
            path = folder / "first_write.py"
            path.write_text(WORKFLOW)
            client.register(path)
            times = []
            for i in range(args.warmup + args.runs):
                started = time.perf_counter()
                status = client.start_and_wait("first_write").wait()
                if status != "succeeded":
                    raise SystemExit(f"a run ended {status}; logs in {folder / 'logs'}")
                if i >= args.warmup:
                    times.append((time.perf_counter() - started) * 1000)
            print(f"median {statistics.median(times):.2f} ms over {args.runs} runs")
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
