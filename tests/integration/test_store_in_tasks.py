"""The store as tasks use it, in a real run on a local stack: large values, counters, and
values that cannot be stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lightflow_cli.stack import LocalStack
from tests.conftest import client_for, dump_logs, output_lines, run_example

LARGE_VALUES = """
import numpy as np

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def put(data, store, signal, context):
    image = np.arange(8 * 1024 * 1024, dtype="float64")  # 64 MB
    store.set("images.big", image)
    store.increment("counters.writes")


def check(data, store, signal, context):
    image = store.get("images.big")
    expected = np.arange(8 * 1024 * 1024, dtype="float64")
    print("shape", image.shape, "dtype", image.dtype, "equal", bool((image == expected).all()))
    print("writes", store.increment("counters.writes"))
    print("keys", store.list_keys(recursive=True))


d = Dag("main_dag")
put_task = PythonTask(name="put_task", callback=put)
check_task = PythonTask(name="check_task", callback=check)
d.define({put_task: check_task})
"""

UNSERIALIZABLE = """
import threading

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def put(data, store, signal, context):
    store.set("results.lock", threading.Lock())


d = Dag("main_dag")
put_task = PythonTask(name="put_task", callback=put)
d.define({put_task: None})
"""


def write_workflow(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(text)
    return folder


def test_a_64_mb_array_round_trips_through_a_tasks_store(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    folder = write_workflow(tmp_path / "workflows", "store_large_values", LARGE_VALUES)

    status, events = run_example(client_for(stack), "store_large_values", folder)

    assert status == "succeeded", dump_logs(stack)
    lines = [line for task, line in output_lines(events) if task == "main_dag/check_task"]
    assert "shape (8388608,) dtype float64 equal True" in lines
    assert "writes 2" in lines
    assert "keys ['images.big', 'counters.writes']" in lines


def test_a_value_that_cannot_be_stored_fails_the_task_naming_key_and_type(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    stack = start_stack()
    folder = write_workflow(tmp_path / "workflows", "store_unserializable", UNSERIALIZABLE)

    status, events = run_example(client_for(stack), "store_unserializable", folder)

    assert status == "failed", dump_logs(stack)
    failure = events[-1].failure
    assert failure is not None
    assert failure.type == "StoreValueError"
    assert "'results.lock'" in failure.message
    assert "_thread.lock" in failure.message
