"""Flow control: Action(limit=...) picks successors, skips propagate unless told not to."""

from lightflow.models import Action, Dag
from lightflow.tasks import PythonTask


def choose(data, store, signal, context):
    data['route'] = 'left'
    print('choosing the left branch')
    return Action(data, limit=[left_task])


def show(data, store, signal, context):
    print(context.task_name, 'runs')


d = Dag('main_dag')

choose_task = PythonTask(name='choose_task', callback=choose)
left_task = PythonTask(name='left_task', callback=show)
right_task = PythonTask(name='right_task', callback=show)
# skipped because right_task is skipped
right_after_task = PythonTask(name='right_after_task', callback=show)
# runs although right_task is skipped: it does not pass its skip on
barrier_task = PythonTask(name='barrier_task', callback=show, propagate_skip=False)
after_barrier_task = PythonTask(name='after_barrier_task', callback=show)
# runs although nothing selects it
always_task = PythonTask(name='always_task', callback=show, force_run=True)

d.define({
    choose_task: [left_task, right_task, barrier_task],
    right_task: [right_after_task, always_task],
    barrier_task: after_barrier_task,
})
