"""A sub-DAG for raw StartDag calls: its task must not run on data it cannot read."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def wait(data, store, signal, context):
    time.sleep(1.5)


def consume(data, store, signal, context):
    print("consumer got", dict(data.default_dataset.data))


main = Dag("main_dag")
wait_task = PythonTask(name="wait_task", callback=wait)
main.define({wait_task: None})

sub = Dag("sub_dag", autostart=False)
consume_task = PythonTask(name="consume_task", callback=consume)
sub.define({consume_task: None})
