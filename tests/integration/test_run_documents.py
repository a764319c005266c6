"""A run's store document is created late: at once for a run with arguments, by its tasks'
first store call, when a store user asks for it, by a timer after the delay, or, for a run
that ends first, keeps no data and never touches the store, never (docs/architecture.md,
"The run's store document"). However it came, it goes when the run ends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lightflow._store import StoreClient, StoreNotFoundError
from lightflow_cli.stack import LocalStack
from tests.conftest import assert_eventually, client_for, dump_logs, output_lines

# Long enough that only a store user's request (or the run's end) creates a document.
NEVER_BY_TIMER = 600.0

STORE_AT_ONCE = """
from lightflow.models import Dag
from lightflow.tasks import PythonTask


def first(data, store, signal, context):
    run = store.get_document(section='meta')
    print('workflow', run['name'], 'status', run['status'])
    store.set('seen.by', context.task_name)


def second(data, store, signal, context):
    print('stored', store.get('seen.by'))


d = Dag('main')
d.define({PythonTask(name='first', callback=first): PythonTask(name='second', callback=second)})
"""

# Returns once the file {flag} exists.
SLEEPS = """
import os
import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def nap(data, store, signal, context):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not os.path.exists({flag!r}):
        time.sleep(0.05)


d = Dag('main')
d.define({{PythonTask(name='nap', callback=nap): None}})
"""

# Writes, then waits for the file {flag} (a run to stop while it waits).
WRITES_AND_SLEEPS = """
import os
import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def write(data, store, signal, context):
    store.set('written', True)
    print('written')
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not os.path.exists({flag!r}):
        time.sleep(0.05)


d = Dag('main')
d.define({{PythonTask(name='write', callback=write): None}})
"""

ARRAY = """
import numpy as np

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def make(data, store, signal, context):
    data['array'] = np.ones(4 * 1024 * 1024)  # 32 MiB: a blob, not inline


def total(data, store, signal, context):
    print('total', float(data['array'].sum()))


d = Dag('main')
d.define({PythonTask(name='make', callback=make): PythonTask(name='total', callback=total)})
"""


# start_dag with large data (a blob) that the schedulers refuse: the run still succeeds.
REFUSED_START = """
import numpy as np

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def start(data, store, signal, context):
    try:
        signal.start_dag("no_such_dag", data={"array": np.ones(4 * 1024 * 1024)})
    except Exception as err:
        print("refused", type(err).__name__)


d = Dag("main")
d.define({PythonTask(name="start", callback=start): None})
"""


def _blob_files(store_dir: Path, run_id: str) -> list[Path]:
    """The files of a run's task data in the store's blob folder."""
    return [p for p in (store_dir / "blobs").rglob("*") if p.is_file() and run_id in str(p)]


def _workflow(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_a_task_reads_and_writes_the_store_before_any_timer_made_the_document(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(document_delay_s=NEVER_BY_TIMER)
    client = client_for(stack)
    client.register(_workflow(tmp_path, "store_at_once", STORE_AT_ONCE))
    run = client.start("store_at_once")
    events = list(run.events(timeout=60))
    assert events[-1].status == "succeeded", dump_logs(stack)
    assert [line for _, line in output_lines(events)] == [
        "workflow store_at_once status running",
        "stored first",
    ]


def _has_document(stack: LocalStack, run_id: str) -> bool:
    assert stack.store is not None
    with StoreClient(stack.store.address, stack.options.token) as store:
        try:
            store.get_document(run_id)
        except StoreNotFoundError:
            return False
        return True


def test_the_document_a_tasks_first_write_made_goes_with_its_run(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(document_delay_s=NEVER_BY_TIMER)
    client = client_for(stack)
    client.register(_workflow(tmp_path, "store_at_once", STORE_AT_ONCE))
    runs = [client.start("store_at_once") for _ in range(5)]
    for run in runs:
        assert run.wait(timeout=60) == "succeeded", dump_logs(stack)
    for run in runs:
        assert_eventually(lambda run=run: not _has_document(stack, run.id))


def test_a_stopped_tasks_document_goes_with_its_run(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    # The task is ended by the stop, not by itself: its worker reports its store use.
    stack = start_stack(document_delay_s=NEVER_BY_TIMER, stop_grace_s=0.5)
    flag = tmp_path / "never"
    client = client_for(stack)
    client.register(_workflow(tmp_path, "writes", WRITES_AND_SLEEPS.format(flag=str(flag))))
    run = client.start("writes")
    for event in run.events(timeout=60):
        if event.type == "task_output" and event.text == "written":
            break
    assert _has_document(stack, run.id)
    run.stop()
    assert run.wait(timeout=60) == "stopped"
    assert_eventually(lambda: not _has_document(stack, run.id))


def test_lfctl_store_get_shows_a_running_runs_document_before_the_timer(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(document_delay_s=NEVER_BY_TIMER)
    flag = tmp_path / "done"
    client = client_for(stack)
    client.register(_workflow(tmp_path, "sleeps", SLEEPS.format(flag=str(flag))))
    run = client.start("sleeps")
    try:
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "lightflow_cli",
                "store",
                "get",
                run.id,
                "--section=meta",
            ],
            env={
                **os.environ,
                "LIGHTFLOW_STORE_ADDRESS": stack.store.address if stack.store else "",
                "LIGHTFLOW_ADDRESS": ",".join(stack.scheduler_addresses),
                "LIGHTFLOW_TOKEN": stack.options.token or "",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr + dump_logs(stack)
        meta = json.loads(shown.stdout)
        assert (meta["name"], meta["status"]) == ("sleeps", "running")
        assert meta["log"]["main"]["tasks"]["nap"]["status"] == "running"
    finally:
        flag.write_text("")
    assert run.wait(timeout=60) == "succeeded"


def test_a_longer_run_gets_its_document_from_the_timer(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(document_delay_s=0.2)
    flag = tmp_path / "done"
    client = client_for(stack)
    client.register(_workflow(tmp_path, "sleeps", SLEEPS.format(flag=str(flag))))
    run = client.start("sleeps")
    assert stack.store is not None
    try:
        # A plain client, which never asks for a document (the store waits 2 s for one on
        # its way): the timer made it. Its meta section is written when the run ends (the
        # schedulers answer for a live run).
        with StoreClient(stack.store.address, stack.options.token) as store:
            assert store.get_document(run.id) == {}
            assert store.get_document(run.id, section="meta") == {}
    finally:
        flag.write_text("")
    assert run.wait(timeout=60) == "succeeded"


def test_a_short_kept_run_that_never_touched_the_store_keeps_a_full_document(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack(document_delay_s=NEVER_BY_TIMER)
    flag = tmp_path / "done"
    flag.write_text("")  # the task returns at once
    client = client_for(stack)
    client.register(_workflow(tmp_path, "sleeps", SLEEPS.format(flag=str(flag))))
    run = client.start("sleeps", keep_data=True)
    assert run.wait(timeout=60) == "succeeded"
    assert stack.store is not None
    with StoreClient(stack.store.address, stack.options.token) as store:

        def ended() -> dict[str, object]:
            run_meta = store.get_document(run.id, section="meta")
            assert run_meta.get("status") == "succeeded"
            return run_meta

        run_meta = assert_eventually(ended)
        assert run_meta["name"] == "sleeps"
        assert store.get(run.id, "log.main.status", section="meta") == "succeeded"
        assert store.get(run.id, "log.main.tasks.nap.status", section="meta") == "succeeded"


def test_a_short_runs_large_task_data_is_removed_without_a_document(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    store_dir = tmp_path / "store"
    stack = start_stack(document_delay_s=NEVER_BY_TIMER, store_dir=store_dir)
    client = client_for(stack)
    client.register(_workflow(tmp_path, "array", ARRAY))
    run = client.start("array")
    events = list(run.events(timeout=60))
    assert events[-1].status == "succeeded", dump_logs(stack)
    assert ("main/total", f"total {4 * 1024 * 1024}.0") in output_lines(events)

    assert_eventually(lambda: _blob_files(store_dir, run.id) == [])


def test_large_data_of_a_refused_start_dag_is_removed_with_the_run(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    store_dir = tmp_path / "store"
    stack = start_stack(document_delay_s=NEVER_BY_TIMER, store_dir=store_dir)
    client = client_for(stack)
    client.register(_workflow(tmp_path, "refused_start", REFUSED_START))
    run = client.start("refused_start")
    events = list(run.events(timeout=60))
    assert events[-1].status == "succeeded", dump_logs(stack)
    assert ("main/start", "refused SignalError") in output_lines(events)

    assert_eventually(lambda: _blob_files(store_dir, run.id) == [])
