"""A task puts a lock into its data: the data cannot be pickled for its successor."""

import threading

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def keep_lock(data, store, signal, context):
    data["lock"] = threading.Lock()


def never(data, store, signal, context):
    print("this must not run")


d = Dag("main_dag")
lock_task = PythonTask(name="lock_task", callback=keep_lock)
never_task = PythonTask(name="never_task", callback=never)
d.define({lock_task: never_task})
