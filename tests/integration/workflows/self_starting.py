"""A sub-DAG that starts itself again, without end."""

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def again(data, store, signal, context):
    signal.start_dag('loop_dag')


def start(data, store, signal, context):
    signal.start_dag('loop_dag')


main_dag = Dag('main_dag')
main_dag.define({PythonTask(name='start_task', callback=start): None})
loop_dag = Dag('loop_dag', autostart=False)
loop_dag.define({PythonTask(name='again_task', callback=again): None})
