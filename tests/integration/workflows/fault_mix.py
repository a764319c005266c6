"""50 tasks: a fan-out and fan-in of 20, then a sub-DAG of 26 started and joined by a task."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def work(data, store, signal, context):
    time.sleep(0.02)
    data[context.task_name] = True


def spawn(data, store, signal, context):
    signal.join_dags([signal.start_dag("sub_dag")])


main_dag = Dag("main_dag")
start = PythonTask(name="start", callback=work)
lanes = [PythonTask(name=f"lane_{i}", callback=work) for i in range(20)]
join = PythonTask(name="join", callback=work)
spawner = PythonTask(name="spawn", callback=spawn)
end = PythonTask(name="end", callback=work)
schema = {start: lanes, join: spawner, spawner: end}
for lane in lanes:
    schema[lane] = join
main_dag.define(schema)

sub_dag = Dag("sub_dag", autostart=False)
sub_start = PythonTask(name="sub_start", callback=work)
sub_lanes = [PythonTask(name=f"sub_lane_{i}", callback=work) for i in range(24)]
sub_end = PythonTask(name="sub_end", callback=work)
sub_schema = {sub_start: sub_lanes}
for lane in sub_lanes:
    sub_schema[lane] = sub_end
sub_dag.define(sub_schema)
