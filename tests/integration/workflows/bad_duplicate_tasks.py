"""Two different tasks of one DAG with the same name."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def noop(data, store, signal, context):
    pass


d = Dag("main_dag")
first_task = PythonTask(name="twin_task", callback=noop)
second_task = PythonTask(name="twin_task", callback=noop)
d.define({first_task: second_task})
