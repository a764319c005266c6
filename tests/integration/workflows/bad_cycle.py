"""A DAG whose tasks depend on each other in a circle."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def noop(data, store, signal, context):
    pass


d = Dag("main_dag")
first_task = PythonTask(name="first_task", callback=noop)
second_task = PythonTask(name="second_task", callback=noop)
third_task = PythonTask(name="third_task", callback=noop)
d.define({first_task: second_task, second_task: third_task, third_task: first_task})
