"""Tasks pinned to queues: only workers started for a queue run its tasks."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def where(data, store, signal, context):
    print(context.task_name, 'ran on', context.worker_hostname)


d = Dag('main_dag')
cpu_task = PythonTask(name='cpu_task', callback=where)
gpu_task = PythonTask(name='gpu_task', callback=where, queue='gpu')
io_task = PythonTask(name='io_task', callback=where, queue='io')
d.define({cpu_task: [gpu_task, io_task]})
