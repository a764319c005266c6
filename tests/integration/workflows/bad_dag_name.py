"""A DAG whose name has a ':', which instance names reserve."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def noop(data, store, signal, context):
    pass


d = Dag("main:dag")
plain_task = PythonTask(name="plain_task", callback=noop)
d.define({plain_task: None})
