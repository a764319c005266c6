"""Where a task hop's time goes, on W2 (a chain of no-op tasks passing a small dict) or W4.

    python -m bench.profile_hop [--workload W2|W4] [--hops N] [--mib 8] [--runs 3]
        [--schedulers 3] [--no-py-spy]

Runs W2 (or W4: an array handed along the chain) on a local stack (3 scheduler replicas, one
worker of 2 slots), warmed up, with each callback writing its entry and exit time (µs,
`time.time()`) to a file; reads the run's events
(task_queued, task_started, task_ended: the replica's clock, ms resolution, taken just before
it calls the Lua script) and splits each hop (predecessor's callback exit → successor's
callback exit) into:

    result   predecessor's callback exit → its task_ended (task process → worker → work
             stream → a replica, up to complete.lua)
    release  task_ended → successor's task_queued (both in the same complete.lua call)
    handout  task_queued → task_started (XADD wakes an XREADGROUP, dispatch.lua)
    deliver  task_started → successor's callback entry (lease on the stream to the worker, to
             a task process, input decoded)
    callback the successor's callback

Event times are whole ms; they are read as the middle of their ms, and averaged over every
hop of every run. Also prints the client's view (ms per hop; start and end of a run), the CPU
time each process of the stack spent per hop (/proc), and, with py-spy installed, the
functions each process spends its samples in (separate runs: sampling perturbs timing).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lightflow import Client
from lightflow_cli.stack import LocalStack, StackOptions

WORKFLOW = """\
import time

import numpy as np

from lightflow.models import Dag
from lightflow.tasks import PythonTask

N = {n}
ITEMS = {items}
STAMPS = {stamps!r}


def hop(data, store, signal, context):
    entered = time.time()
{body}
    left = time.time()
    with open(STAMPS, 'a') as stamps:
        stamps.write('%s %s %.6f %.6f\\n' % (context.workflow_id, context.task_name, entered, left))


d = Dag('chain')
tasks = [PythonTask(name='t%04d' % i, callback=hop) for i in range(N)]
d.define({{tasks[i]: tasks[i + 1] for i in range(N - 1)}})
"""

# W2: a small dict; W4: make an array, hand it on (input + 1), keep a float of it at the end.
BODIES = {
    "W2": """\
    payload = data['payload'] if 'payload' in data else {'step': 0, 'name': 'bench'}
    data['payload'] = {**payload, 'step': payload['step'] + 1}""",
    "W4": """\
    index = int(context.task_name[1:])
    if index == 0:
        data['array'] = np.arange(ITEMS, dtype=np.float64)
    elif index == N - 1:
        data['array'] = float(data['array'][-1])
    else:
        data['array'] = data['array'] + 1""",
}

STEPS = ("result", "release", "handout", "deliver", "callback")
_HALF_MS = 0.0005


@dataclass
class TaskTimes:
    queued: float = 0.0
    started: float = 0.0
    ended: float = 0.0
    entered: float = 0.0
    left: float = 0.0


@dataclass
class RunTimes:
    run_id: str
    submitted: float  # client clock, before StartRun
    returned: float  # client clock, when wait() returned
    run_started: float = 0.0
    run_ended: float = 0.0
    tasks: dict[str, TaskTimes] = field(default_factory=lambda: defaultdict(TaskTimes))


def _ms(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.mean(values) * 1000:6.2f} {statistics.median(values) * 1000:6.2f}"


def _event_times(client: Client, times: RunTimes) -> None:
    for event in client.run(times.run_id).events():
        if event.time is None:
            continue
        at = event.time.timestamp() + _HALF_MS
        if event.type == "run_started":
            times.run_started = at
        elif event.type == "run_ended":
            times.run_ended = at
        elif event.type in ("task_queued", "task_started", "task_ended"):
            setattr(times.tasks[event.task_name], event.type.removeprefix("task_"), at)


def _stamps(path: Path, runs: dict[str, RunTimes]) -> None:
    for line in path.read_text().splitlines():
        run_id, task, entered, left = line.split()
        if run_id in runs:
            runs[run_id].tasks[task].entered = float(entered)
            runs[run_id].tasks[task].left = float(left)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (not its children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _processes(stack: LocalStack) -> dict[str, list[int]]:
    roles = {
        "client (this process)": [os.getpid()],
        "schedulers (all replicas)": [s.pid for s in stack.schedulers],
        "worker": [w.pid for w in stack.workers],
        "task processes": [c for w in stack.workers for c in _children(w.pid)],
    }
    if stack.store is not None:
        roles["store"] = [stack.store.pid]
    if stack.redis is not None:
        roles["redis-server"] = [stack.redis.pid]
    return roles


def _cpu(roles: dict[str, list[int]]) -> dict[str, float]:
    return {role: sum(_cpu_seconds(pid) for pid in pids) for role, pids in roles.items()}


def _run(client: Client, name: str) -> RunTimes:
    submitted = time.time()
    run = client.start(name)
    status = run.wait(timeout=600)
    returned = time.time()
    if status != "succeeded":
        raise RuntimeError(f"run {run.id} ended {status}")
    return RunTimes(run.id, submitted, returned)


def _py_spy(
    stack: LocalStack, client: Client, name: str, runs: int, folder: Path, hops: int
) -> None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("\npy-spy not installed (pip install py-spy): no profile")
        return
    rate = 500
    targets = {f"scheduler-{i}": s.pid for i, s in enumerate(stack.schedulers)}
    targets |= {"worker + task processes": stack.workers[0].pid}
    if stack.store is not None:
        targets |= {"store": stack.store.pid}
    recorders = {}
    for role, pid in targets.items():
        command = [py_spy, "record", "--gil", "--rate", str(rate), "--format", "raw"]
        command += ["-o", str(folder / f"{role}.txt"), "--pid", str(pid)]
        if role.startswith("worker"):
            command.append("--subprocesses")
        recorders[role] = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
    time.sleep(2)  # attached
    started = time.perf_counter()
    for _ in range(runs):
        _run(client, name)
    seconds = time.perf_counter() - started
    for recorder in recorders.values():
        recorder.send_signal(signal.SIGINT)
    print(
        f"\npy-spy, {runs} runs of {hops} hops ({seconds * 1000 / (runs * hops):.2f} ms per hop "
        f"while sampled at {rate} Hz); samples of the thread holding the GIL:"
    )
    for role, recorder in recorders.items():
        _, err = recorder.communicate(timeout=60)
        report = folder / f"{role}.txt"
        if not report.exists():
            print(f"\n{role}: py-spy failed: {err.decode(errors='replace').strip()[-300:]}")
            continue
        _print_profile(role, report, rate, runs * hops)


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py:123)"
    function, _, where = frame.partition(" (")
    return f"{function} ({Path(where.rstrip(')')).name})" if where else function


def _print_profile(role: str, report: Path, rate: int, hops: int, top: int = 12) -> None:
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in report.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        total += count
        leaves[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    per_hop_ms = total / rate / hops * 1000
    print(f"\n{role}: {total} samples, {per_hop_ms:.2f} ms holding the GIL per hop")
    print("  self (leaf frame)                                                    share")
    for frame, count in leaves.most_common(top):
        print(f"  {frame[:68]:68} {count / total:6.1%}")
    print("  inclusive (frame anywhere on the stack, thread/process roots excluded)")
    shown = 0
    for frame, count in inclusive.most_common():
        if count / total > 0.97:
            continue  # thread and process entry points: on every stack
        print(f"  {frame[:68]:68} {count / total:6.1%}")
        shown += 1
        if shown == top:
            break


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile_hop", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--workload",
        choices=("W2", "W4"),
        default="W2",
        help="W2: a small dict along the chain; W4: a numpy array (--mib) along it",
    )
    parser.add_argument("--hops", type=int, help="hand-overs (default: W2 100, W4 10)")
    parser.add_argument("--mib", type=int, default=8, help="W4: the array's size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--schedulers", type=int, default=3)
    parser.add_argument("--no-py-spy", action="store_true")
    options = parser.parse_args(argv)
    workload: str = options.workload
    hops: int = options.hops or (100 if workload == "W2" else 10)
    # W2: `hops` tasks, per task as the suite counts; W4: a maker and `hops` receivers.
    tasks = hops if workload == "W2" else hops + 1

    with tempfile.TemporaryDirectory(prefix="lightflow-profile-") as tmp:
        folder = Path(tmp)
        stamps = folder / "stamps.txt"
        workflow = folder / "bench_profile_hop.py"
        workflow.write_text(
            WORKFLOW.format(
                n=tasks,
                items=options.mib * 1024 * 1024 // 8,
                stamps=str(stamps),
                body=BODIES[workload],
            )
        )
        stack = LocalStack(
            StackOptions(
                schedulers=options.schedulers, workers=1, concurrency=2, log_dir=folder / "logs"
            )
        )
        with stack, Client(stack.scheduler_addresses, token=stack.options.token) as client:
            name = client.register(workflow)
            _run(client, name)  # warm-up: task processes spawned, the task unpickled
            roles = _processes(stack)
            cpu_before = _cpu(roles)
            runs = {}
            for _ in range(options.runs):
                times = _run(client, name)
                runs[times.run_id] = times
            cpu_after = _cpu(roles)
            for times in runs.values():
                _event_times(client, times)
            _stamps(stamps, runs)
            _report(workload, runs, hops, cpu_before, cpu_after)
            if not options.no_py_spy:
                _py_spy(stack, client, name, options.runs, folder, hops)
    return 0


def _report(
    workload: str,
    runs: dict[str, RunTimes],
    hops: int,
    cpu_before: dict[str, float],
    cpu_after: dict[str, float],
) -> None:
    steps: dict[str, list[float]] = {step: [] for step in (*STEPS, "hop")}
    edges: dict[str, list[float]] = defaultdict(list)
    per_hop_client = []
    for times in runs.values():
        names = sorted(times.tasks)
        ordered = [times.tasks[n] for n in names]
        for pred, succ in itertools.pairwise(ordered):
            steps["result"].append(pred.ended - pred.left)
            steps["release"].append(succ.queued - pred.ended)
            steps["handout"].append(succ.started - succ.queued)
            steps["deliver"].append(succ.entered - succ.started)
            steps["callback"].append(succ.left - succ.entered)
            steps["hop"].append(succ.left - pred.left)
        per_hop_client.append((times.returned - times.submitted) / hops)
        # The run's edges, before the first hop and after the last.
        head, tail = ordered[0], ordered[-1]
        edges["submit -> run_started (StartRun, start_run.lua)"].append(
            times.run_started - times.submitted
        )
        edges["run_started -> first task_started (hand-out)"].append(
            head.started - times.run_started
        )
        edges["first task_started -> its callback entry (deliver)"].append(
            head.entered - head.started
        )
        edges["last callback exit -> its task_ended (result)"].append(tail.ended - tail.left)
        edges["last task_ended -> run_ended (finish_run)"].append(times.run_ended - tail.ended)
        edges["run_ended -> wait() returned (WatchRun to the client)"].append(
            times.returned - times.run_ended
        )
        edges["the edges together (submit -> wait() returned, less the hops)"].append(
            times.returned - times.submitted - (tail.left - head.entered)
        )

    total_hops = len(steps["hop"])
    print(
        f"{workload} on Lightflow: {len(runs)} runs of {hops} hops, {total_hops} hops between "
        "tasks; ms, mean and median over the hops"
    )
    print()
    print(f"{'step':66}   mean median")
    labels = {
        "result": "(1) callback exit -> task_ended (result back, complete.lua)",
        "release": "(2) task_ended -> successor task_queued (same script)",
        "handout": "(3) task_queued -> task_started (XREADGROUP wake, dispatch)",
        "deliver": "(4) task_started -> callback entry (lease to task process)",
        "callback": "(5) callback (entry -> exit, incl. the stamp write)",
        "hop": "hop: callback exit -> successor's callback exit",
    }
    for step in (*STEPS, "hop"):
        print(f"{labels[step]:66} {_ms(steps[step])}")
    started_to_ended = [
        d + c + r
        for d, c, r in zip(steps["deliver"], steps["callback"], steps["result"], strict=False)
    ]
    print(f"{'task_started -> task_ended (4 + 5 + 1)':66} {_ms(started_to_ended)}")
    print()
    print(f"{'client: (submit -> wait() returned) / hops':66} {_ms(per_hop_client)}")
    print()
    print("a run's edges (once per run)".ljust(66) + "   mean median")
    for label, values in edges.items():
        print(f"{label:66} {_ms(values)}")
    print()
    counted = len(runs) * hops
    print(f"CPU time per hop ({counted} tasks, /proc utime + stime, 10 ms ticks):")
    total_cpu = 0.0
    for role, before in cpu_before.items():
        spent = cpu_after[role] - before
        total_cpu += spent
        print(f"  {role:32} {spent * 1000 / counted:6.2f} ms")
    print(f"  {'all':32} {total_cpu * 1000 / counted:6.2f} ms (2 cores)")


if __name__ == "__main__":
    sys.exit(main())
