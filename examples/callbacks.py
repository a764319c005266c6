"""callback_init runs before a task, callback_finally after it with the task's status."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def init(data, store, signal, context):
    print('init of', context.task_name)


def work(data, store, signal, context):
    print('work of', context.task_name)


def finally_(status, data, store, signal, context):
    print('finally of', context.task_name, 'with', status.name)


d = Dag('main_dag')
d.define({PythonTask(name='work_task', callback=work, callback_init=init,
                     callback_finally=finally_): None})
