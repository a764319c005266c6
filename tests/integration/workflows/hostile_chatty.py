"""A task that prints 1 KiB lines as fast as it can for SECONDS, then says it is done."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask

SECONDS = 12


def chatty(data, store, signal, context):
    line = "x" * 1014
    until = time.monotonic() + SECONDS
    number = 0
    while time.monotonic() < until:
        for _ in range(100):
            print(f"{number:08d} {line}")
            number += 1
    print(f"chatty printed {number} lines")


d = Dag("main_dag")
d.define({PythonTask(name="chatty_task", callback=chatty): None})
