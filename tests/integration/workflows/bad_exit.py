"""A callback that kills its own process."""

import os

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def suicide(data, store, signal, context):
    print("about to exit")
    os._exit(3)


def never(data, store, signal, context):
    print("this must not run")


d = Dag("main_dag")
exit_task = PythonTask(name="exit_task", callback=suicide)
never_task = PythonTask(name="never_task", callback=never)
d.define({exit_task: never_task})
