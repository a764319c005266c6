"""One task pushes 300 numbers to the store, one at a time, while tests restart the store."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def push_many(data, store, signal, context):
    for number in range(300):
        store.push("numbers", number)
        time.sleep(0.01)
    print("pushed", len(store.get("numbers")))


d = Dag("main_dag")
d.define({PythonTask(name="push_task", callback=push_many): None})
