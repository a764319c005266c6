"""redis, the one stateful dependency: its door shut (a password on every connection, never
on a command line), its data kept (an append-only file, `kill -9`), and a Redis Sentinel
failover under load (a primary, a replica and three sentinels, the primary killed)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from lightflow import Client, RunEvent
from lightflow._stackfile import StackInfo, write_stack_file
from lightflow_cli.stack import LocalStack, RedisProcess, start_redis, start_sentinel
from tests.conftest import assert_eventually, dump_logs

WORKFLOWS = Path(__file__).resolve().parent / "workflows"
SERVICE = "lightflow-test"

# A chain whose every task leaves a side effect outside redis (a line appended to a file),
# so a task run twice shows even when redis forgot the first run.
EFFECT_CHAIN = """\
import os
import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask

EFFECTS = {effects!r}


def hop(data, store, signal, context):
    time.sleep({nap})
    line = '{{}} {{}}\\n'.format(context.workflow_id, context.task_name).encode()
    fd = os.open(EFFECTS, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


d = Dag('main_dag')
tasks = [PythonTask(name='hop_{{}}'.format(i), callback=hop) for i in range({hops})]
d.define({{a: b for a, b in zip(tasks, tasks[1:])}})
"""


def _write_effect_chain(folder: Path, *, hops: int, nap: float) -> tuple[Path, Path]:
    effects = folder / "effects.log"
    path = folder / "effect_chain.py"
    path.write_text(EFFECT_CHAIN.format(effects=str(effects), nap=nap, hops=hops))
    return path, effects


def _client(stack: LocalStack) -> Client:
    return Client(stack.scheduler_addresses, token=stack.options.token)


def _stack_pids(stack: LocalStack) -> list[int]:
    """Every process of the stack: its services and all their descendants."""
    roots = [p.pid for p in (stack.redis, stack.store, *stack.schedulers, *stack.workers) if p]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def test_the_stacks_redis_refuses_a_connection_without_its_password(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=1, workers=0)
    assert stack.redis is not None
    assert stack.redis_password
    with socket.create_connection(("127.0.0.1", stack.redis.port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(200).startswith(b"-NOAUTH")
        sock.sendall(b"SET x 1\r\n")
        assert sock.recv(200).startswith(b"-NOAUTH")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=stack.redis.port, password="guessed", protocol=2).ping()
    assert stack.redis_client().ping()
    # Its config file holds the password: the owner's only, in a folder of the owner's.
    assert stack.redis.config_path is not None
    assert stack.redis.config_path.stat().st_mode & 0o777 == 0o600
    assert stack.redis.config_path.parent.stat().st_mode & 0o777 == 0o700


def test_no_command_line_of_a_stack_shows_the_token_or_redis_password(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2, workers=1)
    with _client(stack) as client:
        client.register(WORKFLOWS / "slow_chain.py")
        run = client.start("slow_chain")
        # While a task process runs too.
        assert_eventually(lambda: len(_stack_pids(stack)) > 5, timeout=30)
        secrets = [stack.options.token, stack.redis_password]
        assert all(secrets)
        seen = 0
        for pid in _stack_pids(stack):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            seen += 1
            for secret in secrets:
                assert secret is not None
                assert secret.encode() not in cmdline, cmdline
        assert seen >= 5  # redis, store, 2 schedulers, a worker (and its task processes)
        assert run.wait(timeout=60) == "succeeded", dump_logs(stack)


def test_the_stack_file_is_its_owners_only(tmp_path: Path) -> None:
    (tmp_path / ".lightflow").mkdir()
    stale = tmp_path / ".lightflow" / "stack.tmp"
    stale.write_text("")
    stale.chmod(0o644)  # a stale temporary file must not lend its permissions
    path = write_stack_file(
        tmp_path, StackInfo(["127.0.0.1:1"], "127.0.0.1:2", "redis://x", "t0ken", os.getpid())
    )
    assert path.stat().st_mode & 0o777 == 0o600
    assert "redis_password" not in path.read_text()
    fresh = write_stack_file(
        tmp_path / "new", StackInfo([], "", "", None, os.getpid())
    ).parent.stat()
    assert fresh.st_mode & 0o777 == 0o700


def test_redis_killed_with_kill_9_keeps_every_registration_and_acknowledged_run(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2, workers=1, concurrency=4)
    assert stack.redis is not None
    client = _client(stack)
    registered = {client.register(WORKFLOWS / f"{name}.py") for name in ("sleepy_chain", "flaky")}
    runs = [client.start("sleepy_chain") for _ in range(4)]
    time.sleep(1.0)  # the first naps are running
    stack.redis.kill()  # kill -9: no chance to write anything more
    stack.restart_redis()  # same port and folder: its append-only file brings the data back
    assert registered <= {w.name for w in client.list_workflows()}
    for run in runs:
        assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    # Runs started after the restart work too.
    assert client.start("sleepy_chain").wait(timeout=60) == "succeeded"
    client.close()


# -- Redis Sentinel ---------------------------------------------------------------------------


@dataclass
class SentinelGroup:
    primary: RedisProcess
    replica: RedisProcess
    sentinels: list[RedisProcess] = field(default_factory=list)

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{s.port}" for s in self.sentinels)

    def master_port(self) -> int | None:
        sentinel = self.sentinels[0]
        with redis.Redis(port=sentinel.port, password=sentinel.password) as client:
            found = client.sentinel_get_master_addr_by_name(SERVICE)
        return int(found[1]) if found else None

    def stop(self) -> None:
        for process in (*self.sentinels, self.replica, self.primary):
            process.stop()


@pytest.fixture
def sentinel_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A primary, its replica and three sentinels (quorum 2), one password for all."""
    password = "sentinel-test-" + os.urandom(12).hex()
    logs = tmp_path / "redis-logs"
    logs.mkdir()
    primary = start_redis(
        tmp_path / "primary", logs, appendonly=True, password=password, name="redis-primary"
    )
    group = SentinelGroup(primary, primary)
    try:
        group.replica = start_redis(
            tmp_path / "replica",
            logs,
            appendonly=True,
            password=password,
            replica_of=("127.0.0.1", primary.port),
            name="redis-replica",
        )
        with redis.Redis(port=group.replica.port, password=password) as replica:
            assert_eventually(
                lambda: replica.info("replication")["master_link_status"] == "up", timeout=20
            )
        for index in range(3):
            group.sentinels.append(
                start_sentinel(
                    tmp_path / f"sentinel-{index}",
                    logs,
                    ("127.0.0.1", primary.port),
                    service=SERVICE,
                    password=password,
                    down_after_ms=1000,
                    failover_timeout_ms=5000,
                    name=f"sentinel-{index}",
                )
            )

        def acquainted() -> bool:
            # Every sentinel knows the replica and the two other sentinels: a failover
            # can be voted.
            for sentinel in group.sentinels:
                with redis.Redis(port=sentinel.port, password=password) as client:
                    state = client.sentinel_master(SERVICE)
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < 2:
                    return False
            return True

        assert_eventually(acquainted, timeout=30, interval=0.2)
        yield group
    finally:
        group.stop()


def _key(event: RunEvent) -> tuple[str, str, str, int, str]:
    return (event.type, event.dag_instance, event.task_name, event.attempt, event.status)


@pytest.mark.parametrize("wait_replicas", [0, 1])
def test_a_sentinel_failover_under_twenty_runs_loses_no_run_and_records_no_task_twice(
    start_stack: Callable[..., LocalStack],
    sentinel_group: SentinelGroup,
    tmp_path: Path,
    wait_replicas: int,
) -> None:
    group = sentinel_group
    stack = start_stack(
        schedulers=3,
        workers=2,
        concurrency=4,
        lease_timeout_s=3.0,
        redis_password=group.primary.password,
        redis_sentinels=group.addresses,
        redis_sentinel_service=SERVICE,
        redis_wait_replicas=wait_replicas,
    )
    assert stack.redis is None  # the stack started no redis of its own
    chain, effects = _write_effect_chain(tmp_path, hops=4, nap=0.3)
    client = _client(stack)
    client.register(chain)
    runs = [client.start("effect_chain") for _ in range(20)]
    # Every event each run's watcher was sent: each was acknowledged by a replica, which
    # read it from the primary of the moment.
    watched: dict[str, list[RunEvent]] = {run.id: [] for run in runs}
    watchers = [
        threading.Thread(target=lambda r=run: watched[r.id].extend(r.events()), daemon=True)
        for run in runs
    ]
    for watcher in watchers:
        watcher.start()
    time.sleep(1.0)  # runs in flight
    killed_at = time.monotonic()
    group.primary.kill()  # kill -9
    assert_eventually(lambda: group.master_port() == group.replica.port, timeout=30)
    promoted_s = time.monotonic() - killed_at
    assert all(run.wait(timeout=60) == "succeeded" for run in runs), dump_logs(stack)
    ended_s = time.monotonic() - killed_at
    for watcher in watchers:
        watcher.join(30)

    lost = 0
    twice = []
    ran: Counter[tuple[str, str]] = Counter(
        tuple(line.split()) for line in effects.read_text().splitlines()
    )
    for run in runs:
        final = list(client.run(run.id).events())
        assert final[-1].type == "run_ended"
        assert final[-1].status == "succeeded"
        ended = Counter((e.dag_instance, e.task_name) for e in final if e.type == "task_ended")
        # Each task's completion is recorded once.
        assert set(ended.values()) == {1}, ended
        assert len(ended) == 4
        attempts = {e.task_name: e.attempt for e in final if e.type == "task_ended"}
        for task, attempt in attempts.items():
            # A task ran once, or again only because a transition was lost (its attempt
            # number says so).
            if ran[(run.id, task)] != 1:
                twice.append((run.id, task, ran[(run.id, task)], attempt))
                assert ran[(run.id, task)] <= attempt, (run.id, task)
        still_there = Counter(_key(e) for e in final)
        seen = Counter(_key(e) for e in watched[run.id] if e.type != "task_output")
        lost += sum((seen - still_there).values())
    print(
        f"wait_replicas={wait_replicas}: primary replaced after {promoted_s:.1f} s, 20 runs"
        f" ended {ended_s:.1f} s after the kill; acknowledged transitions lost: {lost};"
        f" tasks run twice: {twice}"
    )
    if wait_replicas:
        assert lost == 0
    client.close()
