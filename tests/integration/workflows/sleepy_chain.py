"""Five tasks in a row, each sleeping a little, so a test can restart redis in between."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def nap(data, store, signal, context):
    time.sleep(0.5)
    data["count"] = (data["count"] if "count" in data else 0) + 1
    print("count", data["count"])


d = Dag("main_dag")
tasks = [PythonTask(name=f"nap_{i}", callback=nap) for i in range(5)]
d.define({a: b for a, b in zip(tasks, tasks[1:])})
