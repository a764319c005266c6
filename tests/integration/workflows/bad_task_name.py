"""A task whose name has a '/', which the scheduler reserves."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def noop(data, store, signal, context):
    pass


d = Dag("main_dag")
slash_task = PythonTask(name="load/convert", callback=noop)
d.define({slash_task: None})
