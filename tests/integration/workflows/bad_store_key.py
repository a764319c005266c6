"""A task writes to the store under a key with an empty segment."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def bad_key(data, store, signal, context):
    store.set("sensor..reading", 5)


d = Dag("main_dag")
bad_key_task = PythonTask(name="bad_key_task", callback=bad_key)
d.define({bad_key_task: None})
