"""Lightflow, Celery and Dask side by side on the workloads W1-W4 (see docs/benchmarks.md).

    pip install '.[bench]' && python -m bench [--size tiny|full] [--repeat N] [--rounds R]
        [--only W1,W3] [--engines lightflow,celery,dask] [--schedulers 1,2,3] [--json PATH]

Lightflow runs a real local stack: three scheduler replicas, one worker process with a pool of
two slots (redis-server and the store service beside them). Celery: one worker, prefork pool
of 2, broker and results in redis. Dask: LocalCluster, 2 worker processes of 1 thread. Each
engine runs alone (the previous one stopped), its workers running and warmed up: every
workload runs three times before it is measured. The engines take turns over several rounds
(4 by default), each round on fresh processes and running a share of the measured runs, with
the runs each target compares next to each other in time (`round_order`): a machine whose
speed drifts during the suite weighs on every engine alike. Times are end to end, from the
client: submit → final status (Lightflow, one `start_and_wait` call) or result (Celery,
Dask).

Prints Markdown tables: per workload and engine the median and min-max, the ratios
Lightflow / peer and the issue's targets; W3 with 1, 2 and 3 scheduler replicas; and the
redis commands per task hop of W2. A benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import ENGINES, TITLES, WARMUP_RUNS, WORKLOADS, Result
from bench.lightflow_runner import LightflowBench, RedisCost, redis_cost
from bench.shapes import FULL, TINY, Sizes

SKIPPED = "skipped (pip install .[bench])"
PEER_MODULES = {"celery": ("celery", "redis"), "dask": ("distributed", "numpy")}
ENGINE_NAMES = {"lightflow": "Lightflow", "celery": "Celery", "dask": "Dask"}
# The targets: (peer, bound); W3 is tasks/s (Lightflow ≥ bound x peer), the others
# times (Lightflow ≤ bound x peer).
TARGETS: dict[str, list[tuple[str, float]]] = {
    "W1": [("celery", 1.0)],
    "W2": [("celery", 0.7)],
    "W3": [("dask", 1.0), ("celery", 2.5)],
    "W4": [("dask", 1.0)],
}


def _csv(value: str, allowed: Sequence[str], what: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown or not items:
        raise argparse.ArgumentTypeError(f"{what}: choose from {', '.join(allowed)}")
    return items


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("tiny", "full"), default="full")
    parser.add_argument("--repeat", type=int, help="measured runs of each workload")
    parser.add_argument(
        "--only",
        type=lambda v: _csv(v.upper(), WORKLOADS, "--only"),
        default=list(WORKLOADS),
        help="workloads, e.g. W1,W3",
    )
    parser.add_argument(
        "--engines",
        type=lambda v: _csv(v.lower(), ENGINES, "--engines"),
        default=list(ENGINES),
        help="engines, e.g. lightflow,celery",
    )
    parser.add_argument(
        "--schedulers",
        type=lambda v: sorted({int(n) for n in v.split(",") if n.strip()}),
        default=[1, 2, 3],
        help="scheduler replica counts of the W3 scale table (Lightflow); '' for none",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of fresh engines, in turn (default: full 4, tiny 1); each round runs a"
        " share of every workload's measured runs",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    options = parser.parse_args(argv)
    if options.repeat is not None and options.repeat < 1:
        parser.error("--repeat must be at least 1")
    if options.rounds is not None and options.rounds < 1:
        parser.error("--rounds must be at least 1")
    return options


def peer_available(engine: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in PEER_MODULES.get(engine, ()))


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _cell(result: Result | None) -> str:
    if result is None:
        return "not run"
    if result.error:
        return result.error
    digits = 0 if result.workload == "W3" else (1 if result.median >= 100 else 2)
    low, high = min(result.samples), max(result.samples)
    return f"{result.median:,.{digits}f} ({low:,.{digits}f}-{high:,.{digits}f})"


def _ratio(lightflow: Result | None, peer: Result | None) -> str:
    if not lightflow or not peer or not lightflow.samples or not peer.samples:
        return "-"
    return f"{lightflow.median / peer.median:.2f}"


def _target(workload: str, results: dict[tuple[str, str], Result]) -> str:
    parts = []
    lightflow = results.get((workload, "lightflow"))
    for peer, bound in TARGETS[workload]:
        sign = "≥" if workload == "W3" else "≤"
        text = f"{sign} {bound:g}x {ENGINE_NAMES[peer]}"
        other = results.get((workload, peer))
        if lightflow and other and lightflow.samples and other.samples:
            ratio = lightflow.median / other.median
            met = ratio >= bound if workload == "W3" else ratio <= bound
            text += " ✓" if met else " ✗"
        parts.append(text)
    return ", ".join(parts)


def results_table(results: dict[tuple[str, str], Result], sizes: Sizes) -> list[str]:
    peers = [e for e in ENGINES if e != "lightflow"]
    header = (
        ["workload", "unit"]
        + [ENGINE_NAMES[e] for e in ENGINES]
        + [f"Lightflow / {ENGINE_NAMES[p]}" for p in peers]
        + ["target"]
    )
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 3) + "---|"]
    for workload in WORKLOADS:
        row = [r for (w, _), r in results.items() if w == workload]
        if not row:
            continue
        lightflow = results.get((workload, "lightflow"))
        cells = [TITLES[workload].format(**sizes.__dict__), row[0].unit]
        cells += [_cell(results.get((workload, e))) for e in ENGINES]
        cells += [_ratio(lightflow, results.get((workload, p))) for p in peers]
        cells.append(_target(workload, results))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def scale_table(scale: dict[int, Result]) -> list[str]:
    lines = [
        "| scheduler replicas | W3 tasks/s, median (min-max) | vs 1 replica |",
        "|---:|---:|---:|",
    ]
    base = scale.get(min(scale)) if scale else None
    for count in sorted(scale):
        result = scale[count]
        vs = (
            f"{result.median / base.median:.2f}"
            if base and base.samples and result.samples
            else "-"
        )
        lines.append(f"| {count} | {_cell(result)} | {vs} |")
    return lines


def redis_table(cost: RedisCost, top: int = 10) -> list[str]:
    lines = [
        f"W2, {cost.hops} hops, one run of {cost.seconds * 1000:,.0f} ms: "
        f"{cost.total_per_hop:.1f} redis commands per hop (INFO commandstats, scripts' "
        f"commands included); clients sent {cost.round_trips_per_hop:.1f} per hop, scripts ran "
        f"{cost.in_lua_per_hop:.1f} (MONITOR, another run); an idle window as long: "
        f"{cost.idle_per_hop:.2f} per hop.",
        "",
        "| command | calls per hop | sent by clients per hop | µs per call |",
        "|---|---:|---:|---:|",
    ]
    ordered = sorted(cost.per_hop.items(), key=lambda item: -item[1])
    for command, per_hop in ordered[:top]:
        sent = cost.sent_per_hop.get(command, 0.0)
        lines.append(
            f"| {command.upper()} | {per_hop:.2f} | {sent:.2f} | "
            f"{cost.usec_per_call[command]:.1f} |"
        )
    rest = sum(per_hop for _, per_hop in ordered[top:])
    if rest:
        lines.append(f"| (others) | {rest:.2f} | | |")
    return lines


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _guarded(engine: str, workload: str, measure: Callable[[], Result]) -> Result:
    """A peer's failure is reported in its cell; Lightflow's ends the suite."""
    try:
        return measure()
    except Exception as err:
        if engine == "lightflow":
            raise
        log(f"{engine} {workload} failed: {type(err).__name__}: {err}")
        return Result(workload, engine, error=f"failed: {type(err).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    sizes = TINY if options.size == "tiny" else FULL
    if options.repeat is not None:
        sizes = replace(sizes, repeat=dict.fromkeys(WORKLOADS, options.repeat))
    workloads: list[str] = options.only
    results: dict[tuple[str, str], Result] = {}
    scale: dict[int, Result] = {}
    cost: RedisCost | None = None
    started = machine()
    log(f"machine: {started['cpus']} cpus, load average {started['load_average']}")

    rounds = options.rounds or (4 if options.size == "full" else 1)
    engines = [e for e in ENGINES if e in options.engines]
    for engine in engines:
        if engine != "lightflow" and not peer_available(engine):
            log(f"{engine}: not installed, skipped")
            for workload in workloads:
                results[workload, engine] = Result(workload, engine, error=SKIPPED)
    with tempfile.TemporaryDirectory(prefix="lightflow-bench-") as tmp:
        folder = Path(tmp)
        for round_ in range(rounds):
            share = {w: _share(sizes.repeat[w], rounds, round_) for w in workloads}
            for engine, order in round_order(engines, workloads, round_):
                if all(results.get((w, engine), Result(w, engine)).error for w in workloads):
                    continue  # skipped, or did not start
                log(f"round {round_ + 1} of {rounds}: {engine}")
                if engine == "lightflow":
                    cost = _measure_lightflow(folder, sizes, order, share, results, cost)
                else:
                    _measure_peer(engine, folder, sizes, order, share, results)
        if "W3" in workloads and "lightflow" in engines:
            # Every count on a fresh stack of its own, one after the other, after the rounds.
            for count in options.schedulers:
                log(f"lightflow W3 with {count} scheduler replica(s)")
                with LightflowBench(folder, sizes, schedulers=count) as bench:
                    scale[count] = bench.measure("W3", sizes.repeat["W3"])

    ended = machine()
    print(
        f"Lightflow, Celery and Dask, size {options.size} "
        f"({started['cpus']} cpus, {started['cpu_model'] or 'unknown cpu'}, "
        f"Python {started['python']}; load average at start "
        f"{_load(started)}, at end {_load(ended)}); median (min-max) of "
        + ", ".join(f"{w}: {sizes.repeat[w]}" for w in workloads)
        + f" runs, in {rounds} round(s) of fresh engines taking turns,"
        + f" each after {WARMUP_RUNS} warm-up runs"
    )
    print()
    print("\n".join(results_table(results, sizes)))
    if scale:
        print()
        print(f"W3 ({sizes.fan_out} tasks) by scheduler replicas, Lightflow, 1 worker of 2 slots:")
        print()
        print("\n".join(scale_table(scale)))
    if cost is not None:
        print()
        print("\n".join(redis_table(cost)))
    if options.json:
        options.json.write_text(
            json.dumps(
                {
                    "size": options.size,
                    "sizes": sizes.__dict__,
                    "machine_at_start": started,
                    "machine_at_end": ended,
                    "results": [r.to_json() for r in results.values()],
                    "scale_w3": {str(n): r.to_json() for n, r in scale.items()},
                    "redis_w2": cost.to_json() if cost else None,
                },
                indent=2,
            )
        )
    return 0


# Lightflow between its two peers: Celery is the yardstick of W1 and W2, Dask of W3 and W4.
_SEQUENCE = ("celery", "lightflow", "dask")


def round_order(
    engines: Sequence[str], workloads: Sequence[str], round_: int
) -> list[tuple[str, list[str]]]:
    """Each engine of a round, on fresh processes, with the order of its workloads.

    This machine's speed drifts by a quarter within minutes, so the runs a target compares
    are kept close in time: Lightflow runs between Celery and Dask, and the peers run the
    workloads in the reverse of Lightflow's order, so Lightflow's W1 and W2 follow or precede
    Celery's, and its W3 and W4 Dask's. Every other round reverses both orders, so neither
    engine always goes first on a machine that speeds up or slows down."""
    sequence = [e for e in _SEQUENCE if e in engines]
    forward = list(workloads)
    backward = forward[::-1]
    if round_ % 2:
        sequence.reverse()
        forward, backward = backward, forward
    return [(e, forward if e == "lightflow" else backward) for e in sequence]


def _share(repeat: int, rounds: int, round_: int) -> int:
    """This round's part of `repeat` measured runs (every round runs at least one)."""
    return max(1, repeat // rounds + (1 if round_ < repeat % rounds else 0))


def _add(results: dict[tuple[str, str], Result], result: Result) -> None:
    key = (result.workload, result.engine)
    if key in results and not result.error:
        results[key].samples.extend(result.samples)
    else:
        results[key] = result


def _measure_lightflow(
    folder: Path,
    sizes: Sizes,
    workloads: list[str],
    share: dict[str, int],
    results: dict[tuple[str, str], Result],
    cost: RedisCost | None,
) -> RedisCost | None:
    """One round on a fresh stack; the redis cost of W2 is taken in the first round."""
    with LightflowBench(folder, sizes, schedulers=3) as bench:
        for workload in workloads:
            log(f"lightflow {workload}")
            _add(results, bench.measure(workload, share[workload]))
        if "W2" in workloads and cost is None:
            log("lightflow W2: redis commands per hop")
            cost = redis_cost(bench)
    return cost


def _measure_peer(
    engine: str,
    folder: Path,
    sizes: Sizes,
    workloads: list[str],
    share: dict[str, int],
    results: dict[tuple[str, str], Result],
) -> None:
    peer = _peer(engine, folder, sizes)
    try:
        peer.__enter__()
    except Exception as err:
        log(f"{engine} did not start: {type(err).__name__}: {err}")
        for workload in workloads:
            if (workload, engine) not in results:
                results[workload, engine] = Result(workload, engine, error="did not start")
        return
    try:
        for workload in workloads:
            log(f"{engine} {workload}")
            measure = functools.partial(peer.measure, workload, share[workload])
            _add(results, _guarded(engine, workload, measure))
    finally:
        peer.close()


def _load(info: dict[str, Any]) -> str:
    load = info.get("load_average")
    return "/".join(f"{x:.1f}" for x in load) if load else "?"


def _peer(engine: str, folder: Path, sizes: Sizes) -> Any:
    if engine == "celery":
        from bench.celery_runner import CeleryBench  # noqa: PLC0415 - an optional extra

        return CeleryBench(folder, sizes)
    from bench.dask_runner import DaskBench  # noqa: PLC0415 - an optional extra

    return DaskBench(sizes)
