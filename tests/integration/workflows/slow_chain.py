"""Two tasks; the first sleeps long enough for a test to kill processes under it."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def slow(data, store, signal, context):
    print("slow task starts")
    time.sleep(3)
    data["slow"] = "done"


def after(data, store, signal, context):
    print("after sees", data["slow"])


d = Dag("main_dag")
slow_task = PythonTask(name="slow_task", callback=slow)
after_task = PythonTask(name="after_task", callback=after)
d.define({slow_task: after_task})
