"""Schedules: each tick starts exactly one run, whichever replica fires it, with replicas
killed and started again, and redis restarted; and bad schedules are refused whole."""

from __future__ import annotations

import datetime
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lightflow import Client, ClientError, RunInfo
from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, assert_eventually, client_for, dump_logs


def _runs_of(client: Client, schedule: str) -> list[RunInfo]:
    return [r for r in client.list_runs(limit=1000) if r.schedule == schedule]


def _ticks(runs: list[RunInfo]) -> list[float]:
    return sorted(r.schedule_tick.timestamp() for r in runs if r.schedule_tick is not None)


def test_a_schedule_starts_one_run_per_tick_until_deleted(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    made = client.create_schedule("often", "sequential", every=1.0, overlap="allow")
    assert made.next_tick is not None
    assert (made.workflow, made.interval_s, made.paused) == ("sequential", 1.0, False)
    runs = assert_eventually(
        lambda: len(_runs_of(client, "often")) >= 3 and _runs_of(client, "often")
    )
    ticks = _ticks(runs)
    assert len(set(ticks)) == len(ticks)  # one run per tick
    assert all(round(b - a, 3) == 1.0 for a, b in itertools.pairwise(ticks))
    for run in runs:
        assert client.run(run.id).wait(timeout=60) == "succeeded", dump_logs(stack)
    (listed,) = client.list_schedules()
    assert listed.last_run_id in {r.id for r in _runs_of(client, "often")}
    client.delete_schedule("often")
    after = len(_runs_of(client, "often"))
    time.sleep(2.5)
    assert len(_runs_of(client, "often")) == after
    assert client.list_schedules() == []


def test_pause_resume_and_trigger(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    client.create_schedule("nightly", "sequential", cron="0 3 * * *", timezone="Europe/Berlin")
    (made,) = client.list_schedules()
    assert made.next_tick is not None
    berlin = made.next_tick.astimezone(datetime.UTC)
    assert berlin.hour in (1, 2)  # 03:00 in Berlin is 01:00 or 02:00 UTC
    paused = client.pause_schedule("nightly")
    assert paused.paused
    assert paused.next_tick is None
    run = client.trigger_schedule("nightly")
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    info = run.info()
    assert (info.schedule, info.schedule_tick) == ("nightly", None)  # a trigger, not a tick
    resumed = client.resume_schedule("nightly")
    assert not resumed.paused
    assert resumed.next_tick == made.next_tick


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        ({"cron": "61 * * * *"}, "INVALID_ARGUMENT", "invalid cron expression"),
        ({"cron": "* * *"}, "INVALID_ARGUMENT", "invalid cron expression"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "INVALID_ARGUMENT", "time zone"),
        ({}, "INVALID_ARGUMENT", "a cron expression or an interval_s"),
        ({"cron": "0 3 * * *", "every": 60}, "INVALID_ARGUMENT", "a cron expression or"),
        ({"every": 0.1}, "INVALID_ARGUMENT", "at least 1"),
        ({"every": 60, "workflow": "nope"}, "NOT_FOUND", "'nope' is not registered"),
        ({"every": 60, "args": {"count": "three"}}, "INVALID_ARGUMENT", "option 'count'"),
        (
            {"every": 60, "end_at": datetime.datetime(2001, 1, 1)},
            "INVALID_ARGUMENT",
            "end_at must come after now",
        ),
        ({"every": 60, "name": "no spaces"}, "INVALID_ARGUMENT", "invalid schedule name"),
        ({"every": 60, "overlap": "sometimes"}, "INVALID_ARGUMENT", "overlap is skip"),
        ({"every": float("nan")}, "INVALID_ARGUMENT", "must be numbers"),
        ({"every": 60, "jitter": -1}, "INVALID_ARGUMENT", "jitter_s must not be negative"),
    ],
)
def test_a_bad_schedule_is_refused_and_nothing_is_made(
    start_stack: Callable[..., LocalStack], options: dict[str, object], code: str, message: str
) -> None:
    stack = start_stack(workers=0)
    client = client_for(stack)
    client.register(EXAMPLES / "parameters.py")
    arguments = {
        "name": options.pop("name", "bad"),
        "workflow": options.pop("workflow", "parameters"),
        "args": options.pop("args", {"name": "Ada"}),
    }
    with pytest.raises(ClientError, match=message) as refused:
        client.create_schedule(  # type: ignore[arg-type]
            arguments["name"], arguments["workflow"], arguments["args"], **options
        )
    assert refused.value.code == code
    assert client.list_schedules() == []
    assert client.list_runs() == []


def test_a_name_in_use_is_refused(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack(workers=0)
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    client.create_schedule("daily", "sequential", cron="0 3 * * *")
    with pytest.raises(ClientError, match="exists") as taken:
        client.create_schedule("daily", "sequential", every=60)
    assert taken.value.code == "ALREADY_EXISTS"
    (kept,) = client.list_schedules()
    assert kept.cron == "0 3 * * *"
    with pytest.raises(ClientError, match="not found") as unknown:
        client.pause_schedule("weekly")
    assert unknown.value.code == "NOT_FOUND"


def test_every_tick_starts_once_while_replicas_are_killed_and_restarted(
    start_stack: Callable[..., LocalStack],
) -> None:
    """Three replicas, a tick every 2 s for 30 s; replicas are killed (by PID) and started
    again all along, one of them right at a tick: every tick starts one run, none twice,
    none is lost."""
    stack = start_stack(schedulers=3)
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    begin = datetime.datetime.now().astimezone() + datetime.timedelta(seconds=2)
    end = begin + datetime.timedelta(seconds=30)
    made = client.create_schedule(
        "chaos", "sequential", every=2.0, start_at=begin, end_at=end, overlap="allow"
    )
    assert made.next_tick is not None
    first = made.next_tick.timestamp()
    for round_ in range(6):
        victim = round_ % 3
        # Right at a tick, or between two.
        tick = first + 2 * (round_ * 2 + 1)
        pause = tick - time.time() - (0.0 if round_ % 2 == 0 else 1.0)
        if pause > 0:
            time.sleep(pause)
        stack.schedulers[victim].process.kill()
        stack.schedulers[victim].process.wait()
        time.sleep(1.0)
        stack.restart_scheduler(victim)
    while time.time() < end.timestamp() + 3:
        time.sleep(0.5)
    runs = _runs_of(client, "chaos")
    ticks = _ticks(runs)
    expected = [first + 2 * i for i in range(len(ticks))]
    assert len(ticks) == len(set(ticks)), "a tick started twice"
    assert ticks == pytest.approx(expected, abs=0.01), "a tick was lost"
    assert 14 <= len(ticks) <= 16, len(ticks)  # 30 s of ticks every 2 s
    for run in runs:
        assert client.run(run.id).wait(timeout=60) == "succeeded", dump_logs(stack)


def test_ticks_go_on_after_redis_restarts(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    client.create_schedule("steady", "sequential", every=1.0, overlap="allow")
    assert_eventually(lambda: len(_runs_of(client, "steady")) >= 2)
    assert stack.redis is not None
    stack.redis.process.kill()
    stack.redis.process.wait()
    stack.restart_redis()
    before = len(_runs_of(client, "steady"))
    assert_eventually(lambda: len(_runs_of(client, "steady")) >= before + 2, timeout=60)
    ticks = _ticks(_runs_of(client, "steady"))
    assert len(ticks) == len(set(ticks))


def test_lfctl_makes_lists_pauses_triggers_and_deletes(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        client.register(EXAMPLES / "sequential.py")
    env = {
        **os.environ,
        "LIGHTFLOW_ADDRESS": ",".join(stack.scheduler_addresses),
        "LIGHTFLOW_TOKEN": stack.options.token or "",
    }

    def lfctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lightflow_cli", "schedule", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    made = lfctl("create", "nightly", "sequential", "--cron", "30 2 * * *", "--tz", "Asia/Tokyo")
    assert made.returncode == 0, made.stderr
    assert "schedule nightly: next tick" in made.stdout
    listed = json.loads(lfctl("list", "-o", "json").stdout)
    assert [(s["name"], s["cron"], s["timezone"], s["paused"]) for s in listed] == [
        ("nightly", "30 2 * * *", "Asia/Tokyo", False)
    ]
    assert lfctl("pause", "nightly").stdout.strip() == "schedule nightly: paused"
    assert json.loads(lfctl("list", "-o", "json").stdout)[0]["next_tick"] is None
    assert "next tick" in lfctl("resume", "nightly").stdout
    run_id = lfctl("trigger", "nightly").stdout.strip()
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        assert client.run(run_id).wait(timeout=60) == "succeeded"
    bad = lfctl("create", "broken", "sequential", "--cron", "every day")
    assert bad.returncode == 1
    assert "invalid cron expression" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert lfctl("delete", "nightly").returncode == 0
    assert json.loads(lfctl("list", "-o", "json").stdout) == []


SLOW = '''"""Takes 2.5 s."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def wait(data, store, signal, context):
    time.sleep(2.5)


d = Dag('main')
d.define({PythonTask(name='wait', callback=wait): None})
'''


@pytest.mark.parametrize("overlap", ["skip", "queue"])
def test_no_two_runs_of_a_schedule_at_once_unless_allowed(
    start_stack: Callable[..., LocalStack], tmp_path: Path, overlap: str
) -> None:
    """A run takes 2.5 s, the schedule ticks every second: `skip` drops the ticks that come
    while a run goes on; `queue` keeps one, which starts when the run ends."""
    stack = start_stack(concurrency=4)
    client = client_for(stack)
    path = tmp_path / "slow.py"
    path.write_text(SLOW)
    client.register(path)
    client.create_schedule("busy", "slow", every=1.0, overlap=overlap)
    time.sleep(7.5)
    client.delete_schedule("busy")
    runs = sorted(_runs_of(client, "busy"), key=lambda r: r.schedule_tick or 0)
    assert 2 <= len(runs) <= 3, [r.schedule_tick for r in runs]
    ended = [client.run(r.id).wait(timeout=60) for r in runs]
    assert set(ended) == {"succeeded"}, dump_logs(stack)
    infos = [client.get_run(r.id) for r in runs]
    for earlier, later in itertools.pairwise(infos):
        assert earlier.ended_at is not None
        assert later.started_at is not None
        assert later.started_at >= earlier.ended_at  # never two at once
    ticks = _ticks(runs)
    if overlap == "queue":  # the tick right after the first run's waited for it
        assert round(ticks[1] - ticks[0]) == 1, ticks
    else:  # the ticks during each run started nothing
        assert all(round(b - a) >= 2 for a, b in itertools.pairwise(ticks)), ticks


@pytest.mark.parametrize(("catch_up", "missed_runs"), [("none", 0), ("all", 3)])
def test_ticks_missed_while_no_scheduler_ran_follow_the_catch_up_policy(
    start_stack: Callable[..., LocalStack], catch_up: str, missed_runs: int
) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    client.create_schedule(
        "gap", "sequential", every=1.0, overlap="allow", catch_up=catch_up, catch_up_limit=3
    )
    assert_eventually(lambda: len(_runs_of(client, "gap")) >= 1)
    client.close()
    down = time.time()
    for replica in stack.schedulers:  # an outage: no replica runs for 12 s
        replica.process.kill()
        replica.process.wait()
    time.sleep(12)
    stack.restart_scheduler(0)
    back = time.time()  # a replica fires again from here on
    for index in range(1, len(stack.schedulers)):
        stack.restart_scheduler(index)
    client = client_for(stack)
    time.sleep(2.5)
    client.delete_schedule("gap")
    ticks = [t for t in _ticks(_runs_of(client, "gap")) if t > down]
    assert len(ticks) == len(set(ticks))
    # The first fire after the outage (at F, about when the first replica is `back`) keeps
    # the latest `catch_up_limit` missed ticks (those up to F), or none; every tick after F
    # runs on time. So the ticks that ran since the outage are consecutive from S: S is F-2
    # with "all" (limit 3), the first tick after F with "none".
    assert all(round(b - a) == 1 for a, b in itertools.pairwise(ticks)), (ticks, down, back)
    first = ticks[0]
    if missed_runs:
        assert first < back - 0.5, (ticks, down, back)
        assert len([t for t in ticks if t < back - 0.5]) <= missed_runs, (ticks, down, back)
    else:
        assert first > back - 0.5, (ticks, down, back)


DECLARED = '''"""Greets on a schedule it declares."""

from lightflow.models import Dag, Option, Parameters, Schedule
from lightflow.tasks import PythonTask

parameters = Parameters([Option('name', help='Who to greet')])
{schedules}


def greet(data, store, signal, context):
    print('hello', store.get('name'))


d = Dag('main')
d.define({{PythonTask(name='greet', callback=greet): None}})
'''


def test_a_workflow_file_declares_its_schedules_and_each_registration_updates_them(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    client = client_for(stack)
    path = tmp_path / "greeter.py"

    def declare(schedules: str) -> None:
        path.write_text(DECLARED.format(schedules=schedules))

    # A wrong declaration refuses the registration whole: nothing registered, nothing made.
    for wrong, says in (
        ("bad = Schedule('bad', cron='every day', args={'name': 'x'})", "invalid cron"),
        ("bad = Schedule('bad', cron='0 3 * * *')", "option 'name'"),
    ):
        declare(wrong)
        with pytest.raises(ClientError, match=says):
            client.register(path)
        assert client.list_workflows() == []
        assert client.list_schedules() == []
    declare(
        "often = Schedule('greeter-often', every=1, args={'name': 'Ada'}, overlap='allow')\n"
        "nightly = Schedule('greeter-nightly', cron='0 3 * * *', args={'name': 'Bob'})"
    )
    client.register(path)
    assert [s.name for s in client.list_schedules()] == ["greeter-nightly", "greeter-often"]
    runs = assert_eventually(lambda: _runs_of(client, "greeter-often"))
    assert client.run(runs[0].id).wait(timeout=60) == "succeeded", dump_logs(stack)
    # Registered again without `nightly`, and `often` changed: the schedules follow.
    declare("often = Schedule('greeter-often', every=2, args={'name': 'Ada'})")
    client.register(path)
    (often,) = client.list_schedules()
    assert (often.name, often.interval_s, often.overlap) == ("greeter-often", 2.0, "skip")
    # A name another owns is refused.
    client.create_schedule("mine", "greeter", {"name": "Cy"}, cron="0 4 * * *")
    declare("taken = Schedule('mine', every=60, args={'name': 'Ada'})")
    with pytest.raises(ClientError, match="a name taken"):
        client.register(path)
    assert {s.name for s in client.list_schedules()} == {"greeter-often", "mine"}


def test_a_tick_that_cannot_start_its_run_says_why_and_waits_for_the_next(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    client = client_for(stack)
    path = tmp_path / "greeter.py"
    path.write_text(DECLARED.format(schedules=""))
    client.register(path)
    client.create_schedule("greet", "greeter", {"name": "Ada"}, every=1.0, overlap="allow")
    assert_eventually(lambda: _runs_of(client, "greet"))
    # Registered anew with a required option the schedule does not give.
    path.write_text(
        DECLARED.format(schedules="").replace(
            "[Option('name', help='Who to greet')]",
            "[Option('name', help='Who to greet'), Option('mood', help='How')]",
        )
    )
    client.register(path)
    (failing,) = assert_eventually(
        lambda: [s for s in client.list_schedules() if "mood" in s.last_error]
    )
    assert failing.next_tick is not None
    assert failing.next_tick.timestamp() > time.time() - 1  # its next tick, not a retry loop
    count = len(_runs_of(client, "greet"))
    time.sleep(2)
    assert len(_runs_of(client, "greet")) == count  # no run while it cannot start one
    logs = "".join(p.read_text() for p in stack.log_dir.glob("scheduler-*.log"))
    assert logs.count("schedule_tick_failed") < 10  # about one a tick, not one a timer pass
