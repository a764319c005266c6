"""A task's callback_init fails: the task's own callback never runs."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def prepare(data, store, signal, context):
    settings = {}
    data["threshold"] = settings["threshold"]


def work(data, store, signal, context):
    print("this must not run")


d = Dag("main_dag")
d.define({PythonTask(name="work_task", callback=work, callback_init=prepare): None})
