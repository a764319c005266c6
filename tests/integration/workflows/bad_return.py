"""A task whose Action holds something that is not task data."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def wrong_return(data, store, signal, context):
    return 42


d = Dag("main_dag")
wrong_return_task = PythonTask(name="wrong_return_task", callback=wrong_return)
d.define({wrong_return_task: None})
