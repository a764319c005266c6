"""A task that never returns; its timeout kills it, and one retry fails the same way."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def hang(data, store, signal, context):
    print("hanging")
    time.sleep(3600)


d = Dag("main_dag")
d.define({PythonTask(name="hang_task", callback=hang, timeout=1, retries=1, retry_delay=0.1): None})
