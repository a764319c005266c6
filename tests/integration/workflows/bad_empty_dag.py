"""A DAG without a task."""

from lightflow.models import Dag

d = Dag("empty_dag")
d.define({})
