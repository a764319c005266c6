"""A workflow file whose import raises."""

from lightflow.models import Dag

d = Dag("main_dag")
raise RuntimeError("the sensor configuration is missing")
