"""A task puts a generator into its data: generators cannot be pickled."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def keep_generator(data, store, signal, context):
    data["numbers"] = (n * n for n in range(3))


d = Dag("main_dag")
generator_task = PythonTask(name="generator_task", callback=keep_generator)
d.define({generator_task: None})
