from lightflow.models import Dag
from lightflow.tasks import PythonTask


# store the value 5 under the key 'value'
def put_data(data, store, signal, context):
    data['value'] = 5


# print the name of the task and the current value
def print_data(data, store, signal, context):
    print(context.task_name, 'The value is:', data['value'])


# square the current value
def square_data(data, store, signal, context):
    data['value'] = data['value']**2


# multiply the value from the first dataset and the second dataset. Since the default
# dataset has never been changed, the default dataset is still the first (index==0)
# dataset in the list of all datasets. The second dataset is referenced by its index==1.
def multiply_data(data, store, signal, context):
    data['value'] = data['value'] * data.get_by_index(1)['value']


# subtract two values by using the aliases of the two datasets and different functions
# for illustration purposes: get_by_alias() and the shorthand notation ([alias])
def subtract_data(data, store, signal, context):
    data['value'] = data.get_by_alias('first')['value'] - data('second')['value']


# create the main DAG based on the diagram above
d = Dag('main_dag')

put_task = PythonTask(name='put_task', callback=put_data)
square_task = PythonTask(name='square_task', callback=square_data)
multiply_task = PythonTask(name='multiply_task', callback=multiply_data)
subtract_task = PythonTask(name='subtract_task', callback=subtract_data)

print_task_1 = PythonTask(name='print_task_1', callback=print_data)
print_task_2 = PythonTask(name='print_task_2', callback=print_data)
print_task_3 = PythonTask(name='print_task_3', callback=print_data)
print_task_4 = PythonTask(name='print_task_4', callback=print_data)


d.define({put_task: {print_task_1: None,
                     square_task: None,
                     multiply_task: None,
                     subtract_task: 'first'},
          square_task: [print_task_2, multiply_task],
          multiply_task: {print_task_3: None,
                          subtract_task: 'second'},
          subtract_task: print_task_4})
