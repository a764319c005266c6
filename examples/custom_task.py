"""A task class of your own: subclass BaseTask and implement run()."""

from lightflow.models import Action, BaseTask, Dag
from lightflow.tasks import PythonTask


class MultiplyTask(BaseTask):
    """Multiplies data['value'] by a factor given when the task is defined."""

    def __init__(self, name, factor, **kwargs):
        super().__init__(name, **kwargs)
        self.factor = factor

    def run(self, data, store, signal, context):
        data['value'] = data['value'] * self.factor
        return Action(data)


def put(data, store, signal, context):
    data['value'] = 7


def show(data, store, signal, context):
    print('The value is:', data['value'])


d = Dag('main_dag')
put_task = PythonTask(name='put_task', callback=put)
times_six = MultiplyTask(name='times_six', factor=6)
show_task = PythonTask(name='show_task', callback=show)
d.define({put_task: times_six, times_six: show_task})
