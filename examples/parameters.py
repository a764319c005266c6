"""Run arguments: the workflow declares options, a task reads their values from the store."""

from lightflow.models import Dag, Option, Parameters
from lightflow.tasks import PythonTask


# 'name' has no default, so a run must give it (lfctl run parameters name=Ada); 'count'
# and 'loud' have defaults. Given values arrive as text and are converted to the type.
parameters = Parameters([
    Option('name', help='Who to greet'),
    Option('count', default=2, help='How many greetings', type=int),
    Option('loud', default=False, help='Shout the greetings', type=bool),
])


# the values of the run arguments are kept in the run's data store under the option names
def print_arguments(data, store, signal, context):
    name = store.get('name')
    count = store.get('count')
    loud = store.get('loud')
    print('name={!r} count={!r} loud={!r}'.format(name, count, loud))
    data['greeting'] = 'HELLO {}!'.format(name.upper()) if loud else 'Hello {}'.format(name)
    data['count'] = count


# print the greeting of the previous task as many times as asked
def greet(data, store, signal, context):
    for number in range(1, data['count'] + 1):
        print('{} {}'.format(number, data['greeting']))


d = Dag('main_dag')

arguments_task = PythonTask(name='arguments_task', callback=print_arguments)
greet_task = PythonTask(name='greet_task', callback=greet)

d.define({arguments_task: greet_task})
