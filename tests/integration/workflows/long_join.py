"""A task joins a sub-DAG that takes longer than one blocking redis read."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def start_and_join(data, store, signal, context):
    name = signal.start_dag("slow_dag")
    signal.join_dags([name])
    print("joined", name)


def slow(data, store, signal, context):
    time.sleep(7)
    print("slow done")


main_dag = Dag("main_dag")
main_dag.define({PythonTask(name="parent", callback=start_and_join): None})
slow_dag = Dag("slow_dag", autostart=False)
slow_dag.define({PythonTask(name="slow", callback=slow): None})
