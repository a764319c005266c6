"""Twenty small tasks, five at a time in four rows."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def step(data, store, signal, context):
    print(f"{context.task_name} ran")


d = Dag("main_dag")
rows = [[PythonTask(name=f"t{row}_{i}", callback=step) for i in range(5)] for row in range(4)]
d.define({task: rows[row + 1] for row in range(3) for task in rows[row]})
