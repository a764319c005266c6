"""Pushes onto one list of one run's document, block after block.

    python bench/store_push.py [--blocks 5] [--block 2000] [--extend]

Starts the real store service (a separate process, the embedded store persisting to a folder,
as `lfctl up` runs it), pushes `--blocks` times `--block` small values onto one key of one run
through the SDK's StoreClient, and prints the seconds each block of pushes took. A push whose
cost grows with the list's length shows as blocks getting slower one after another.
`--extend` appends the values in extends of 10 instead. Not a test: numbers depend on the
machine (docs/store.md, "Operations").
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from lightflow._store import StoreClient
from lightflow_cli._procs import start_service

TOKEN = "bench-token"  # noqa: S105 - a benchmark-only shared token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--blocks", type=int, default=5)
    parser.add_argument("--block", type=int, default=2000)
    parser.add_argument("--extend", action="store_true", help="extends of 10 values")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        service = start_service(
            "store",
            "lightflow_store",
            ["--data-dir", str(folder / "store")],
            log_dir=folder,
            env={"LIGHTFLOW_TOKEN": TOKEN},
        )
        try:
            with StoreClient(service.address, TOKEN) as client:
                run_id = uuid.uuid4().hex
                client.create_document(run_id)
                count = 0
                for block in range(1, args.blocks + 1):
                    started = time.perf_counter()
                    if args.extend:
                        for _ in range(args.block // 10):
                            client.extend(run_id, "items", [{"i": count + i} for i in range(10)])
                            count += 10
                    else:
                        for _ in range(args.block):
                            client.push(run_id, "items", {"i": count})
                            count += 1
                    seconds = time.perf_counter() - started
                    print(
                        f"block {block}: items {count - args.block + 1}-{count}:"
                        f" {seconds:.2f} s ({seconds / args.block * 1e6:.0f} µs per item)"
                    )
                items = client.get(run_id, "items")
                assert len(items) == count, len(items)
                assert items[-1] == {"i": count - 1}
        finally:
            service.stop()


if __name__ == "__main__":
    main()
