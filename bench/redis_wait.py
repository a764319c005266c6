"""What `--redis-wait-replicas 1` costs per task hop: W2 (a chain of no-op tasks passing a
small dict) on a stack whose redis has one replica, with and without WAIT.

    python -m bench.redis_wait [--hops 100] [--runs 6]

Starts a primary redis and its replica (`replicaof`, one password, append-only as the
stacks run it), then, in turn, a stack of 3 scheduler replicas and one worker of 2 slots on
that primary with `redis_wait_replicas` 0 and 1 (alternating, a fresh stack each time,
warmed up with one run), and prints the client's ms per hop (submit -> final status
divided by the hops) of each. Not a test: numbers depend on the machine
(docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import redis

from bench.lightflow_runner import CHAIN
from bench.shapes import INITIAL_PAYLOAD
from lightflow import Client
from lightflow_cli.stack import LocalStack, StackOptions, start_redis


def _per_hop(folder: Path, url: str, password: str, wait: int, hops: int, runs: int) -> float:
    workflow = folder / "chain.py"
    workflow.write_text(CHAIN.format(n=hops, initial=INITIAL_PAYLOAD))
    options = StackOptions(
        schedulers=3,
        workers=1,
        concurrency=2,
        redis_url=url,
        redis_password=password,
        redis_wait_replicas=wait,
    )
    with LocalStack(options) as stack, Client(stack.scheduler_addresses, token=options.token) as c:
        c.register(workflow)
        c.start_and_wait("chain", timeout=300)  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            run = c.start_and_wait("chain", timeout=300)
            assert run.wait() == "succeeded"
            times.append((time.perf_counter() - started) * 1000 / hops)
    return statistics.median(times)


def _waits(port: int, password: str) -> int:
    with redis.Redis(port=port, password=password) as client:
        stats = client.info("commandstats")
    return int(stats.get("cmdstat_wait", {}).get("calls", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=100)
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    password = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="lightflow-bench-wait-") as tmp:
        folder = Path(tmp)
        primary = start_redis(folder / "primary", folder, appendonly=True, password=password)
        replica = start_redis(
            folder / "replica",
            folder,
            appendonly=True,
            password=password,
            replica_of=("127.0.0.1", primary.port),
            name="replica",
        )
        try:
            with redis.Redis(port=replica.port, password=password) as client:
                while client.info("replication")["master_link_status"] != "up":
                    time.sleep(0.1)  # the first sync
            samples: dict[int, list[float]] = {0: [], 1: []}
            waits_before = _waits(primary.port, password)
            for round_ in range(args.rounds):
                for wait in (0, 1) if round_ % 2 == 0 else (1, 0):
                    ms = _per_hop(folder, primary.address, password, wait, args.hops, args.runs)
                    samples[wait].append(ms)
                    print(f"round {round_ + 1}, wait_replicas={wait}: {ms:.2f} ms per hop")
            waited = _waits(primary.port, password) - waits_before
            runs = args.rounds * (args.runs + 1)
            print(f"WAIT calls per hop with WAIT 1: {waited / (runs * args.hops):.1f}")
            without, with_wait = (statistics.median(samples[w]) for w in (0, 1))
            print(
                f"W2, {args.hops} hops: {without:.2f} ms per hop without WAIT,"
                f" {with_wait:.2f} with WAIT 1 ({with_wait - without:+.2f} ms per hop)"
            )
        finally:
            replica.stop()
            primary.stop()


if __name__ == "__main__":
    main()
