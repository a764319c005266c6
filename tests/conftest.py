"""Fixtures shared by the integration and end-to-end tests: real stacks of real processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from lightflow._client import Client, RunEvent
from lightflow_cli.stack import LocalStack, StackOptions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

T = TypeVar("T")


def assert_eventually(
    check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05
) -> T:
    """Retries `check` until it returns a truthy value or stops raising AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[..., LocalStack]]:
    """Starts a local stack (redis, store, schedulers, workers as processes); stops them all
    at the end and shows their logs when the test failed."""
    stacks: list[LocalStack] = []

    def start(**options: Any) -> LocalStack:
        log_dir = tmp_path / f"logs-{len(stacks)}"
        log_dir.mkdir()
        stack = LocalStack(StackOptions(log_dir=log_dir, **options))
        stacks.append(stack)
        return stack.start()

    yield start
    for stack in stacks:
        stack.stop()


def dump_logs(stack: LocalStack) -> str:
    return "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
        for p in sorted(stack.log_dir.glob("*.log"))
    )


def client_for(stack: LocalStack, index: int = 0) -> Client:
    addresses = stack.scheduler_addresses
    return Client(addresses[index:] + addresses[:index], token=stack.options.token)


def run_example(client: Client, name: str, folder: Path = EXAMPLES) -> tuple[str, list[RunEvent]]:
    """Registers and runs a workflow; returns its final status and all its events."""
    client.register(folder / f"{name}.py")
    run = client.start(name)
    events = list(run.events())
    return events[-1].status, events


def output_lines(events: list[RunEvent]) -> list[tuple[str, str]]:
    """(dag instance/task, line) of every line the tasks printed, in order."""
    return [(f"{e.dag_instance}/{e.task_name}", e.text) for e in events if e.type == "task_output"]
