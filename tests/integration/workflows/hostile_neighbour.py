"""A task that tries to reach another run (the argument `victim`) with what its own run gave
it: the store and signal objects pointed at the victim, and the blob client it can find in
memory. It prints what each attempt answered."""

import gc
import os

from lightflow.models import Dag, Option, Parameters
from lightflow.tasks import PythonTask

parameters = Parameters([Option('victim', help='the run to attack')])


def attempt(what, call):
    try:
        call()
        print(f'{what}: done')
    except Exception as err:
        # The SDK's errors keep the refusal as their cause, or carry its code.
        cause = err.__cause__ if err.__cause__ is not None else err
        code = getattr(cause, 'code', None)
        code = code() if callable(code) else code
        print(f'{what}: {code.name if hasattr(code, "name") else type(err).__name__}')


def attack(data, store, signal, context):
    from lightflow._taskdata import BlobClient

    victim = store.get('victim')
    secrets = ('LIGHTFLOW_TOKEN', 'LIGHTFLOW_REDIS_PASSWORD', 'LIGHTFLOW_REDIS_URL')
    print('secrets in environment:', [name for name in secrets if name in os.environ])
    store._run_id = victim
    signal._run_id = victim
    attempt('get', lambda: store.get('secret'))
    attempt('get meta', lambda: store.get('arguments', section='meta'))
    attempt('set', lambda: store.set('secret', 'overwritten'))
    attempt('delete document', lambda: store._client.delete_document(victim))
    attempt('stop', signal.stop_workflow)
    blobs = [o for o in gc.get_objects() if isinstance(o, BlobClient)]
    for blob_client in blobs:
        attempt('put blob', lambda: blob_client.put(victim, [memoryview(b'x' * 10)]))
        attempt('delete blobs', lambda: blob_client.delete_run(victim))


d = Dag('main_dag')
d.define({PythonTask(name='attack_task', callback=attack): None})
