"""Lightflow side of the suite: a real local stack (redis, store, scheduler replicas, one
worker process with a pool of two slots), workflow files written to a temporary folder,
registered with `Client.register` and run with `Client.start_and_wait(...)`."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from bench.common import Result, timed_runs, to_unit
from bench.shapes import INITIAL_PAYLOAD, Sizes
from lightflow import Client
from lightflow_cli.stack import LocalStack, StackOptions

_HEADER = """\
from lightflow.models import Dag
from lightflow.tasks import PythonTask
"""

# W1 and W2: a chain of `hop` tasks passing a small dict.
CHAIN = (
    _HEADER
    + """
N = {n}


def hop(data, store, signal, context):
    payload = data['payload'] if 'payload' in data else {initial!r}
    data['payload'] = {{**payload, 'step': payload['step'] + 1}}


d = Dag('chain')
tasks = [PythonTask(name='t%04d' % i, callback=hop) for i in range(N)]
d.define({{tasks[i]: tasks[i + 1] for i in range(N - 1)}})
"""
)

# W3: source -> N no-op tasks -> join.
FAN = (
    _HEADER
    + """
N = {n}


def noop(data, store, signal, context):
    pass


d = Dag('fan')
source = PythonTask(name='source', callback=noop)
fan = [PythonTask(name='f%04d' % i, callback=noop) for i in range(N)]
join = PythonTask(name='join', callback=noop)
d.define({{source: fan, **{{task: join for task in fan}}}})
"""
)

# W4: make an array, hand it on HOPS times (each hop returns input + 1), the last hop keeps
# a float of it.
ARRAY = (
    "import numpy as np\n\n"
    + _HEADER
    + """
ITEMS = {items}
HOPS = {hops}


def make(data, store, signal, context):
    data['array'] = np.arange(ITEMS, dtype=np.float64)


def step(data, store, signal, context):
    data['array'] = data['array'] + 1


def summarize(data, store, signal, context):
    data['array'] = float(data['array'][-1])


d = Dag('array')
tasks = [PythonTask(name='make', callback=make)]
tasks += [PythonTask(name='step%02d' % i, callback=step) for i in range(1, HOPS)]
tasks += [PythonTask(name='summarize', callback=summarize)]
d.define({{tasks[i]: tasks[i + 1] for i in range(HOPS)}})
"""
)


def write_workflows(folder: Path, sizes: Sizes) -> dict[str, Path]:
    """The four workflow files, named bench_w1 .. bench_w4 (a workflow's name is its stem)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {
        "W1": CHAIN.format(n=sizes.w1_chain, initial=INITIAL_PAYLOAD),
        "W2": CHAIN.format(n=sizes.chain, initial=INITIAL_PAYLOAD),
        "W3": FAN.format(n=sizes.fan_out),
        "W4": ARRAY.format(items=sizes.array_items, hops=sizes.array_hops),
    }
    paths = {}
    for workload, source in sources.items():
        path = folder / f"bench_{workload.lower()}.py"
        path.write_text(source)
        paths[workload] = path
    return paths


def workload_counts(workload: str, sizes: Sizes) -> tuple[int, int]:
    """(tasks, hops) of a workload: what W3 divides by and what W2 and W4 divide by."""
    return {
        "W1": (sizes.w1_chain, sizes.w1_chain),
        "W2": (sizes.chain, sizes.chain),
        "W3": (sizes.fan_out + 2, sizes.fan_out + 2),
        "W4": (sizes.array_hops + 1, sizes.array_hops),
    }[workload]


class LightflowBench:
    """A stack of `schedulers` replicas and one worker (2 slots), the workflows registered."""

    def __init__(self, folder: Path, sizes: Sizes, *, schedulers: int = 3) -> None:
        self.sizes = sizes
        self.folder = folder
        log_dir = folder / f"logs-lightflow-{schedulers}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stack = LocalStack(
            StackOptions(schedulers=schedulers, workers=1, concurrency=2, log_dir=log_dir)
        )
        self.client: Client | None = None
        self.names: dict[str, str] = {}

    def __enter__(self) -> LightflowBench:
        self.stack.start()
        try:
            self.client = Client(self.stack.scheduler_addresses, token=self.stack.options.token)
            for workload, path in write_workflows(self.folder / "workflows", self.sizes).items():
                self.names[workload] = self.client.register(path)
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
        self.stack.stop()

    def run_once(self, workload: str) -> str:
        """Starts one run of the workload and waits for its end; returns the run id."""
        assert self.client is not None
        run = self.client.start_and_wait(self.names[workload], timeout=600)
        status = run.wait()
        if status != "succeeded":
            raise RuntimeError(f"lightflow {workload} run {run.id} ended {status}")
        return str(run.id)

    def measure(self, workload: str, repeat: int) -> Result:
        tasks, hops = workload_counts(workload, self.sizes)
        seconds = timed_runs(lambda: self.run_once(workload), repeat)
        samples = [to_unit(workload, s, tasks=tasks, hops=hops) for s in seconds]
        return Result(workload, "lightflow", samples)


@dataclass
class RedisCost:
    """Redis commands of one W2 run, per hop."""

    hops: int
    seconds: float
    per_hop: dict[str, float]  # command -> calls per hop (INFO commandstats)
    usec_per_call: dict[str, float]
    idle_per_hop: float  # calls in an idle window as long as the run, per hop
    round_trips_per_hop: float  # commands clients sent (MONITOR), per hop
    in_lua_per_hop: float  # commands scripts ran (MONITOR), per hop
    sent_per_hop: dict[str, float]  # command -> calls clients sent, per hop

    @property
    def total_per_hop(self) -> float:
        return sum(self.per_hop.values())

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "total_per_hop": self.total_per_hop}


_NOT_COUNTED = {"info", "monitor", "echo"}


def commandstats(client: redis.Redis) -> dict[str, tuple[int, int]]:
    """command -> (calls, usec) from INFO commandstats, less the bench's own commands."""
    stats: dict[str, Any] = client.info("commandstats")
    out = {}
    for key, value in stats.items():
        command = key.removeprefix("cmdstat_").lower()
        if command not in _NOT_COUNTED:
            out[command] = (int(value["calls"]), int(value["usec"]))
    return out


def _delta(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    out = {}
    for command, (calls, usec) in after.items():
        base_calls, base_usec = before.get(command, (0, 0))
        if calls > base_calls:
            out[command] = (calls - base_calls, usec - base_usec)
    return out


class _Monitor:
    """Counts the commands redis runs while it is on: sent by clients, and run by scripts."""

    _END = "lightflow-bench-monitor-end"

    def __init__(self, url: str, password: str | None) -> None:
        self._url = url
        self._password = password
        self.sent: Counter[str] = Counter()
        self.in_lua: Counter[str] = Counter()
        self._client = redis.Redis.from_url(url, password=password)
        self._monitor = self._client.monitor()
        self._monitor.__enter__()  # MONITOR is on once this returns
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        for command in self._monitor.listen():
            words = str(command["command"]).split(" ", 2)
            name = words[0].lower()
            if name == "echo" and self._END in command["command"]:
                return
            if name in _NOT_COUNTED:
                continue
            if command["client_type"] == "lua":
                self.in_lua[name] += 1
            else:
                self.sent[name] += 1

    def stop(self) -> None:
        with redis.Redis.from_url(self._url, password=self._password) as other:
            other.echo(self._END)
        self._thread.join(30)
        self._monitor.__exit__(None, None, None)
        self._client.close()


def redis_cost(bench: LightflowBench) -> RedisCost:
    """INFO commandstats around one W2 run (and around an idle window as long), then MONITOR
    around another to tell the commands clients send from those scripts run."""
    hops = bench.sizes.chain
    client = bench.stack.redis_client()
    try:
        before = commandstats(client)
        started = time.perf_counter()
        bench.run_once("W2")
        seconds = time.perf_counter() - started
        run = _delta(before, commandstats(client))
        before = commandstats(client)
        time.sleep(seconds)
        idle = _delta(before, commandstats(client))
        monitor = _Monitor(bench.stack.redis_url, bench.stack.redis_password)
        try:
            bench.run_once("W2")
        finally:
            monitor.stop()
    finally:
        client.close()
    return RedisCost(
        hops=hops,
        seconds=seconds,
        per_hop={command: calls / hops for command, (calls, _) in run.items()},
        usec_per_call={command: usec / calls for command, (calls, usec) in run.items()},
        idle_per_hop=sum(calls for calls, _ in idle.values()) / hops,
        round_trips_per_hop=sum(monitor.sent.values()) / hops,
        in_lua_per_hop=sum(monitor.in_lua.values()) / hops,
        sent_per_hop={command: calls / hops for command, calls in monitor.sent.items()},
    )
