"""Two tasks feed a third; the second waits for the file named by the argument `gate`, so a
test can change what the first one gave the third while the run waits."""

import os
import time

from lightflow.models import Dag, Option, Parameters
from lightflow.tasks import PythonTask

parameters = Parameters([Option('gate', help='a file the gate task waits for')])


def source(data, store, signal, context):
    data['value'] = 'from the source task'


def gate(data, store, signal, context):
    while not os.path.exists(store.get('gate')):
        time.sleep(0.1)


def join(data, store, signal, context):
    print('join got', data.get_by_alias('source')['value'])


d = Dag('main_dag')
source_task = PythonTask(name='source_task', callback=source)
gate_task = PythonTask(name='gate_task', callback=gate)
join_task = PythonTask(name='join_task', callback=join)
d.define({source_task: {join_task: 'source'}, gate_task: join_task})
