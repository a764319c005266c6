"""The facts of the wire: what Lightflow's processes must agree on beyond the protos
(`lightflow.v1`), each written once. The SDK, the services and lfctl import them from here.

    encodings   the encodings of a Payload, and the layout of their data
    documents   how a run's store document keeps a value that is not BSON; its keys
    headers     call metadata: the token, a write's request id, "fail if the document is missing"
    blobs       the blob folder's layout, shared by the store and the task processes on its
                host; the chunk size of the blob streams
    meta        the layout of a run's meta section (its provenance, the original's layout)
    status      run, DAG and task statuses and event types: the proto enums and their words
    failures    a task's Failure made from the exception that ended it, bounded
    pipe        the messages between a worker and its task processes, and their encoding

These modules import nothing of the SDK but `lightflow.v1` (tests/unit/test_boundaries.py):
a service takes a fact from here without taking the SDK's machinery with it."""
