"""Runs with a start time to come: they exist at once (`scheduled`), can be stopped before
they start, start on time on whichever replica is alive, and a start time in the past is
refused with nothing made."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from lightflow import Client, ClientError
from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, ROOT, client_for, dump_logs


def test_a_run_exists_at_once_and_starts_on_time(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    asked = datetime.datetime.now().astimezone()
    run = client.start("sequential", start_in=2.0)
    info = run.info()
    assert info.status == "scheduled"
    assert info.started_at is None
    assert info.start_at is not None
    assert abs((info.start_at - asked).total_seconds() - 2.0) < 0.5
    assert [r.id for r in client.list_runs(status="scheduled")] == [run.id]
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    started = run.info().started_at
    assert started is not None
    # On time: not before its start time, and within a timer's second after it.
    assert 0.0 <= (started - info.start_at).total_seconds() < 1.5


def test_a_run_stopped_before_its_start_never_runs(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    run = client.start("sequential", start_in=1.5)
    assert run.stop() == "stopped"
    time.sleep(2.5)  # past its start time: nothing starts it
    info = run.info()
    assert info.status == "stopped"
    assert info.dag_instances == []
    assert [e.type for e in run.events(timeout=10)] == ["run_stopping", "run_ended"]


def test_any_replica_starts_it_when_the_one_asked_is_killed(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack(schedulers=2)
    asked = Client(stack.scheduler_addresses[0], token=stack.options.token)
    asked.register(EXAMPLES / "sequential.py")
    run_id = asked.start("sequential", start_in=2.0).id
    asked.close()
    stack.schedulers[0].process.kill()  # the replica that took the request, by PID
    stack.schedulers[0].process.wait()
    survivor = Client(stack.scheduler_addresses[1], token=stack.options.token)
    assert survivor.run(run_id).wait(timeout=60) == "succeeded", dump_logs(stack)
    assert len(survivor.get_run(run_id).dag_instances) == 1  # started once
    survivor.close()


def test_the_deadline_counts_from_the_start(start_stack: Callable[..., LocalStack]) -> None:
    stack = start_stack()
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    # The whole run takes well under 5 s, and starts 3 s from now: a deadline counted from
    # the request would end it failed.
    run = client.start("sequential", start_in=3.0, deadline=5.0)
    assert run.wait(timeout=60) == "succeeded", dump_logs(stack)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"start_at": datetime.datetime.now().astimezone() - datetime.timedelta(minutes=5)},
            "in the past",
        ),
        ({"start_in": -1.0}, "must not be negative"),
        ({"start_in": 5.0, "start_at": datetime.datetime.now()}, "not both"),
    ],
)
def test_a_bad_start_time_is_refused_and_makes_nothing(
    start_stack: Callable[..., LocalStack], options: dict[str, object], message: str
) -> None:
    stack = start_stack(workers=0)
    client = client_for(stack)
    client.register(EXAMPLES / "sequential.py")
    with pytest.raises(ClientError, match=message) as refused:
        client.start("sequential", **options)  # type: ignore[arg-type]
    assert refused.value.code == "INVALID_ARGUMENT"
    assert client.list_runs() == []


def test_lfctl_starts_a_run_later_and_refuses_a_bad_time(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    env = {
        **os.environ,
        "LIGHTFLOW_ADDRESS": ",".join(stack.scheduler_addresses),
        "LIGHTFLOW_TOKEN": stack.options.token or "",
    }

    def lfctl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lightflow_cli", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    started = lfctl("workflow", "start", "sequential", "--in", "1s", "--wait")
    assert started.returncode == 0, started.stderr
    assert "scheduled to start" in started.stderr
    assert "of sequential: succeeded" in started.stdout.splitlines()[-1]
    for bad, says in (
        (["--in", "soon"], "give a duration like"),
        (["--at", "tomorrow"], "give a time like"),
        (["--at", "2001-01-01T00:00"], "in the past"),
        (["--in", "5m", "--at", "2099-01-01T00:00"], "not both"),
    ):
        refused = lfctl("workflow", "start", "sequential", *bad)
        assert refused.returncode != 0, bad
        assert says in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    with Client(stack.scheduler_addresses, token=stack.options.token) as client:
        assert len(client.list_runs()) == 1  # only the good one
