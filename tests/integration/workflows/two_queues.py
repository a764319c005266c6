"""Start tasks on two queues (queued in the same millisecond), joined by a third."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def mark(data, store, signal, context):
    print("ran", context.task_name)
    data[context.task_name] = True


d = Dag("main_dag")
ta = PythonTask(name="ta", callback=mark, queue="alpha")
tb = PythonTask(name="tb", callback=mark, queue="beta")
tc = PythonTask(name="tc", callback=mark, queue="alpha")
d.define({ta: tc, tb: tc})
