"""A 64 MB numpy array handed from task to task."""

import numpy as np

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def make(data, store, signal, context):
    data['image'] = np.arange(8 * 1024 * 1024, dtype=np.float64)  # 64 MiB


def double(data, store, signal, context):
    data['image'] = data['image'] * 2


def check(data, store, signal, context):
    image = data['image']
    print('shape', image.shape, 'nbytes', image.nbytes, 'last', image[-1])


d = Dag('main_dag')
make_task = PythonTask(name='make_task', callback=make)
double_task = PythonTask(name='double_task', callback=double)
check_task = PythonTask(name='check_task', callback=check)
d.define({make_task: double_task, double_task: check_task})
