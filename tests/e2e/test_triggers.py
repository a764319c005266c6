"""A long-lived trigger task (examples/watch_folder.py) on a real stack: it outlives many
lease timeouts, the DAGs it starts run while it watches, and `lfctl workflow stop` ends it
cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lightflow_cli.stack import LocalStack
from tests.conftest import EXAMPLES, assert_eventually, client_for, dump_logs

LFCTL = [sys.executable, "-m", "lightflow_cli"]
LEASE_TIMEOUT_S = 2.0


def drop(folder: Path, name: str, lines: int) -> None:
    """Hand a finished file to the watched folder, as the example asks: by a rename."""
    draft = folder.parent / f"{name}.draft"
    draft.write_text("".join(f"line {i}\n" for i in range(lines)))
    os.rename(draft, folder / name)


def test_a_folder_trigger_starts_a_dag_per_file_and_ends_on_workflow_stop(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(concurrency=3, lease_timeout_s=LEASE_TIMEOUT_S)
    client = client_for(stack)
    inbox = tmp_path / "inbox"
    client.register(EXAMPLES / "watch_folder.py")
    run = client.start("watch_folder", {"folder": str(inbox), "interval": "0.2"}, keep_data=True)

    def printed() -> list[str]:
        """The lines the run's tasks printed so far."""
        lines = []
        try:
            for event in run.events(timeout=0.5):
                if event.type == "task_output":
                    lines.append(event.text)
        except TimeoutError:  # the run goes on: that is all so far
            pass
        return lines

    drop(assert_eventually(lambda: inbox.is_dir() and inbox, timeout=60), "a.txt", 3)
    assert_eventually(lambda: "a.txt has 3 lines" in printed(), timeout=60)
    # The trigger keeps watching across several lease timeouts: no default timeout ends it,
    # its worker's heartbeats keep its lease.
    time.sleep(3 * LEASE_TIMEOUT_S)
    drop(inbox, "b.txt", 5)
    drop(inbox, "c.txt", 7)
    assert_eventually(
        lambda: {"b.txt has 5 lines", "c.txt has 7 lines"} <= set(printed()), timeout=60
    )
    assert run.status() == "running"

    stopped = subprocess.run(
        [*LFCTL, "workflow", "stop", run.id],
        env={
            **os.environ,
            "LIGHTFLOW_ADDRESS": ",".join(stack.scheduler_addresses),
            "LIGHTFLOW_TOKEN": stack.options.token or "",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert stopped.returncode == 0, stopped.stderr
    assert run.wait(timeout=60) == "stopped", dump_logs(stack)

    info = client.get_run(run.id)
    tasks = {(t.dag_instance, t.name): t for t in info.tasks}
    # The trigger ended by itself (it saw the stop), well within the stop grace, and ran
    # once: it was never handed to another worker.
    watch = tasks[("watch_dag", "watch_task")]
    assert watch.status == "succeeded"
    assert watch.attempt == 1
    assert watch.started_at is not None
    assert watch.ended_at is not None
    assert (watch.ended_at - watch.started_at).total_seconds() > 3 * LEASE_TIMEOUT_S
    assert "stopped after 3 files" in printed()
    for instance in ("file_dag:1", "file_dag:2", "file_dag:3"):
        assert tasks[(instance, "count_task")].status == "succeeded"
    assert sorted(line for line in printed() if line.endswith("lines")) == [
        "a.txt has 3 lines",
        "b.txt has 5 lines",
        "c.txt has 7 lines",
    ]
    client.close()
