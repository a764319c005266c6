"""A two-task workflow: the first task stores a value, the second prints it."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


# store the value 5 under the key 'value' of the data passed on to the next task
def put_value(data, store, signal, context):
    data['value'] = 5


# print the value the previous task stored
def print_value(data, store, signal, context):
    print(f"The value is: {data['value']}")


d = Dag('main_dag')

put_task = PythonTask(name='put_task', callback=put_value)
print_task = PythonTask(name='print_task', callback=print_value)

d.define({put_task: print_task})
