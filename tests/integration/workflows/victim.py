"""Keeps a secret in its store and runs until it is stopped."""

import time

from lightflow.models import Dag
from lightflow.tasks import PythonTask


def keep_secret(data, store, signal, context):
    store.set('secret', 'the victim\'s')


def wait(data, store, signal, context):
    while not signal.is_stopped:
        time.sleep(0.2)


d = Dag('main_dag')
d.define({PythonTask(name='secret_task', callback=keep_secret): PythonTask(name='wait_task', callback=wait)})
