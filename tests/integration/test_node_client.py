"""The Node.js client (clients/node), generated at run time from protos/, against a real stack:
it starts a registered workflow by name with arguments, follows its events, and reports the
final status."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, ROOT, client_for, dump_logs

NODE_CLIENT = ROOT / "clients" / "node"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")


@pytest.fixture(scope="module")
def node_client() -> Path:
    """clients/node with its dependencies installed from the committed lock file."""
    if not (NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is on PATH but npm is not"
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_CLIENT,
            check=True,
            capture_output=True,
            timeout=170,
        )
    return NODE_CLIENT


def start_run(
    client_dir: Path, stack: LocalStack, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTFLOW_")}
    env["LIGHTFLOW_TOKEN"] = (stack.options.token or "") if token is None else token
    return subprocess.run(
        ["node", "start-run.js", "--address", ",".join(stack.scheduler_addresses), *args],
        cwd=client_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_node_client_starts_a_workflow_with_arguments_and_follows_it(
    node_client: Path, start_stack: Callable[..., LocalStack]
) -> None:
    stack = start_stack(schedulers=2)
    with client_for(stack) as client:
        client.register(EXAMPLES / "parameters.py")
        client.register(EXAMPLES / "sequential.py")

    result = start_run(node_client, stack, "parameters", "name=Ada", "count=3", "loud=yes")
    assert result.returncode == 0, result.stderr + dump_logs(stack)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("started run ")
    run_id = lines[0].split()[2]
    assert "[main_dag/arguments_task] name='Ada' count=3 loud=True" in lines
    assert "[main_dag/greet_task] 3 HELLO ADA!" in lines
    assert "main_dag/greet_task succeeded" in lines
    assert lines[-1] == f"run {run_id} of parameters: succeeded"
    with client_for(stack) as client:
        assert client.get_run(run_id).status == "succeeded"

    # The first replica down: the client fails over to the second.
    stack.schedulers[0].stop()
    result = start_run(node_client, stack, "sequential")
    assert result.returncode == 0, result.stderr
    assert "[main_dag/task_3] This is task #3" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("of sequential: succeeded")


def test_node_client_reports_errors_in_one_line(
    node_client: Path, start_stack: Callable[..., LocalStack]
) -> None:
    stack = start_stack(schedulers=1, workers=0)
    unknown = start_run(node_client, stack, "nope")
    assert unknown.returncode == 1
    assert "error: " in unknown.stderr
    assert "nope" in unknown.stderr
    assert "at " not in unknown.stderr  # no JavaScript stack trace

    denied = start_run(node_client, stack, "sequential", token="wrong-token")
    assert denied.returncode == 1
    assert "error: missing or wrong Lightflow token" in denied.stderr

    usage = start_run(node_client, stack, "sequential", "not-a-pair")
    assert usage.returncode == 2
    assert "is not KEY=VALUE" in usage.stderr
