"""A task that prints about 5 MB: 50 000 lines of 100 characters."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask

LINES = 50_000


def chatty(data, store, signal, context):
    for number in range(LINES):
        print(f"{number:08d} " + "x" * 91)
    print("chatty done")


def after(data, store, signal, context):
    print("after ran")


d = Dag("main_dag")
chatty_task = PythonTask(name="chatty_task", callback=chatty)
after_task = PythonTask(name="after_task", callback=after)
d.define({chatty_task: after_task})
