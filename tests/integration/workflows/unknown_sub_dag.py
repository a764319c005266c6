"""A task starts a DAG the workflow does not have."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def start_missing(data, store, signal, context):
    signal.start_dag("no_such_dag")


d = Dag("main_dag")
d.define({PythonTask(name="start_task", callback=start_missing): None})
