"""StopTask ends a task early; its successors are skipped, or run with skip_successors=False."""

from lightflow.models import Dag, StopTask
from lightflow.tasks import PythonTask


def stop_and_skip(data, store, signal, context):
    print('stopping, skipping my successors')
    raise StopTask('nothing to do today')


def stop_and_continue(data, store, signal, context):
    data['partial'] = True
    print('stopping, my successors still run')
    raise StopTask('done early', skip_successors=False)


def show(data, store, signal, context):
    print(context.task_name, 'runs, partial =', 'partial' in data)


d = Dag('main_dag')
skip_task = PythonTask(name='skip_task', callback=stop_and_skip)
skipped_task = PythonTask(name='skipped_task', callback=show)
continue_task = PythonTask(name='continue_task', callback=stop_and_continue)
next_task = PythonTask(name='next_task', callback=show)
d.define({skip_task: skipped_task, continue_task: next_task})
