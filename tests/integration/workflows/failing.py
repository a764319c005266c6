"""A task raises; its successor must never run."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def explode(data, store, signal, context):
    raise ValueError("the sensor returned no data")


def never(data, store, signal, context):
    print("this must not run")


d = Dag("main_dag")
explode_task = PythonTask(name="explode_task", callback=explode)
never_task = PythonTask(name="never_task", callback=never)
d.define({explode_task: never_task})
