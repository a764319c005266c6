"""A callback that never returns."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def forever(data, store, signal, context):
    print("looping forever")
    while True:
        time.sleep(0.05)


def never(data, store, signal, context):
    print("this must not run")


d = Dag("main_dag")
forever_task = PythonTask(name="forever_task", callback=forever)
never_task = PythonTask(name="never_task", callback=never)
d.define({forever_task: never_task})
