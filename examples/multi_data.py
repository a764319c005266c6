"""Several datasets reach one task: by index, by alias, by iteration, and flattened."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def make(value):
    def put(data, store, signal, context):
        data['value'] = value
        data[context.task_name] = True
    return put


def combine(data, store, signal, context):
    print('datasets:', len(data))
    print('default:', data['value'])
    print('by alias:', data('second')['value'], data.get_by_alias('first')['value'])
    print('by index:', sorted(data.get_by_index(i)['value'] for i in range(len(data))))
    print('all values:', sorted(ds['value'] for ds in data))
    data.set_default_by_alias('second')
    print('new default:', data['value'])
    data.flatten()
    print('flattened keys:', sorted(k for k in ['first_task', 'second_task'] if k in data))


d = Dag('main_dag')
first_task = PythonTask(name='first_task', callback=make(1))
second_task = PythonTask(name='second_task', callback=make(2))
combine_task = PythonTask(name='combine_task', callback=combine)
d.define({first_task: {combine_task: 'first'}, second_task: {combine_task: 'second'}})
