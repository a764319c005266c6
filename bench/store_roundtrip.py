"""Round trip of a small value through the store, against its building blocks.

    python bench/store_roundtrip.py [--iterations 2000] [--warmup 200]

Measures, in one run on this machine, one set followed by one get of a small value:
- through the real store service, as a task does (StoreClient over gRPC, the service a
  separate process on the embedded store persisting to a folder, as `lfctl up` runs it), and
  the same service keeping documents in memory;
- a direct redis SET + GET (redis-server started here, as `lfctl up` starts it);
- the embedded backend the service uses (`EmbeddedRuns`: a sqlite table, montydb's update
  engine), called in this process: update_one $set + find_one, no gRPC;
- montydb's own sqlite storage doing the same (what the embedded store used before: one
  connection per call, no _id index), in this process.

Prints median / min / max / p99 in microseconds as a Markdown table (see docs/benchmarks.md).
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import montydb
import redis

from lightflow._store import StoreClient
from lightflow_cli._procs import start_service
from lightflow_cli.stack import start_redis
from lightflow_store.backends import EmbeddedRuns

TOKEN = "bench-token"  # noqa: S105 - a benchmark-only shared token
VALUE = {"step": 42, "name": "sample", "scores": [0.5, 0.25, 0.125]}


def measure(round_trip: Callable[[int], None], iterations: int, warmup: int) -> list[float]:
    """Microseconds of each call of `round_trip(i)`, after `warmup` calls not counted."""
    for index in range(warmup):
        round_trip(index)
    samples = []
    for index in range(iterations):
        started = time.perf_counter()
        round_trip(index)
        samples.append((time.perf_counter() - started) * 1e6)
    return samples


def store_service(folder: Path, iterations: int, warmup: int, *, in_memory: bool) -> list[float]:
    args = [] if in_memory else ["--data-dir", str(folder / "store")]
    service = start_service(
        "store", "lightflow_store", args, log_dir=folder, env={"LIGHTFLOW_TOKEN": TOKEN}
    )
    try:
        with StoreClient(service.address, TOKEN) as client:
            run_id = f"bench-{uuid.uuid4().hex}"
            client.create_document(run_id)

            def round_trip(index: int) -> None:
                client.set(run_id, "bench.value", {**VALUE, "step": index})
                assert client.get(run_id, "bench.value")["step"] == index

            return measure(round_trip, iterations, warmup)
    finally:
        service.stop()


def redis_direct(folder: Path, iterations: int, warmup: int) -> list[float]:
    server = start_redis(folder / "redis", folder)
    try:
        client = redis.Redis.from_url(server.address)
        payload = repr(VALUE).encode()

        def round_trip(index: int) -> None:
            client.set("bench:value", payload + str(index).encode())
            assert client.get("bench:value") is not None

        try:
            return measure(round_trip, iterations, warmup)
        finally:
            client.close()
    finally:
        server.stop()


def backend_direct(folder: Path, iterations: int, warmup: int) -> list[float]:
    runs = EmbeddedRuns(folder / "backend", "lightflow", "runs")
    try:
        run_id = "bench"
        runs.update_one({"_id": run_id}, {"$setOnInsert": {"data": {}, "meta": {}}}, upsert=True)

        def round_trip(index: int) -> None:
            runs.update_one({"_id": run_id}, {"$set": {"data.bench.value": {**VALUE}}})
            assert runs.find_one({"_id": run_id}, {"data.bench.value": 1}) is not None

        return measure(round_trip, iterations, warmup)
    finally:
        runs.close()


def montydb_direct(folder: Path, iterations: int, warmup: int) -> list[float]:
    repository = str(folder / "montydb")
    montydb.set_storage(repository, storage="sqlite", use_bson=True)
    client = montydb.MontyClient(repository)
    try:
        collection = client["lightflow"]["runs.bench"]
        run_id = "bench"
        collection.insert_one({"_id": run_id, "data": {}, "meta": {}})

        def round_trip(index: int) -> None:
            collection.update_one({"_id": run_id}, {"$set": {"data.bench.value": {**VALUE}}})
            assert collection.find_one({"_id": run_id}, {"data.bench.value": 1}) is not None

        return measure(round_trip, iterations, warmup)
    finally:
        client.close()


def row(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"| {name} | {statistics.median(samples):,.0f} | {ordered[0]:,.0f} | "
        f"{ordered[-1]:,.0f} | {p99:,.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lightflow-bench-") as tmp:
        folder = Path(tmp)
        (folder / "mem").mkdir()
        results = [
            (
                "store service, embedded sqlite (StoreClient set + get)",
                store_service(folder, options.iterations, options.warmup, in_memory=False),
            ),
            (
                "store service, embedded in memory (StoreClient set + get)",
                store_service(folder / "mem", options.iterations, options.warmup, in_memory=True),
            ),
            (
                "redis SET + GET (redis-py)",
                redis_direct(folder, options.iterations, options.warmup),
            ),
            (
                "embedded backend update_one + find_one (in process)",
                backend_direct(folder, options.iterations, options.warmup),
            ),
            (
                "montydb's own sqlite storage, update_one + find_one (in process)",
                montydb_direct(folder, options.iterations, options.warmup),
            ),
        ]
    print(f"{options.iterations} round trips each (after {options.warmup} not counted), in µs")
    print()
    print("| round trip | median | min | max | p99 |")
    print("|---|---:|---:|---:|---:|")
    for name, samples in results:
        print(row(name, samples))
    return 0


if __name__ == "__main__":
    sys.exit(main())
