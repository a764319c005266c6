"""The benchmark suite runs (tiny sizes, Lightflow only: the peers are not installed in CI).

A check that it runs and prints its tables, not a timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


def test_suite_runs_on_tiny_sizes(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = _run("-m", "bench", "--size", "tiny", "--engines", "lightflow", "--json", str(results))
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| W")]
    assert [row.split(":")[0] for row in rows] == ["| W1", "| W2", "| W3", "| W4"], done.stdout
    assert all("not run" in row for row in rows)  # the peers' columns
    assert "scheduler replicas" in done.stdout
    assert "EVALSHA" in done.stdout

    written = json.loads(results.read_text())
    measured = {(r["workload"], r["engine"]) for r in written["results"] if r["samples"]}
    assert measured == {(w, "lightflow") for w in ("W1", "W2", "W3", "W4")}
    assert sorted(written["scale_w3"]) == ["1", "2", "3"]
    assert written["redis_w2"]["total_per_hop"] > 0


def test_hop_profile_runs() -> None:
    done = _run("-m", "bench.profile_hop", "--hops", "5", "--runs", "1", "--no-py-spy")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hop: callback exit -> successor's callback exit" in done.stdout
    assert "CPU time per hop" in done.stdout


def test_each_target_compares_runs_close_in_time() -> None:
    from bench.run import round_order

    close = [("W1", "celery", 1), ("W2", "celery", 3), ("W4", "dask", 1), ("W3", "dask", 3)]
    for round_ in range(4):
        blocks = round_order(["lightflow", "celery", "dask"], ["W1", "W2", "W3", "W4"], round_)
        runs = [(engine, w) for engine, order in blocks for w in order]
        position = {run: i for i, run in enumerate(runs)}
        # Celery's W1 and Dask's W4 sit right beside Lightflow's; W2 and W3 one run further.
        for workload, peer, gap in close:
            assert abs(position["lightflow", workload] - position[peer, workload]) == gap
        assert blocks[0][0] == ("celery" if round_ % 2 == 0 else "dask")
