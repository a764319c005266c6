"""A callback that takes two arguments instead of (data, store, signal, context)."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def two_args(data, store):
    print("this must not run")


d = Dag("main_dag")
two_args_task = PythonTask(name="two_args_task", callback=two_args)
d.define({two_args_task: None})
