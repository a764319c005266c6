"""The scheduler's two calls to the store service: a run's document comes and goes."""

from __future__ import annotations

import time

import grpc

from lightflow._grpc import RETRYABLE_CODES, open_channel
from lightflow.v1 import store_pb2, store_pb2_grpc

_DEADLINE_S = 10.0
_ATTEMPTS = 5


class StoreLink:
    def __init__(self, address: str, token: str | None) -> None:
        self._channel = open_channel(address, token)
        self._stub = store_pb2_grpc.StoreServiceStub(self._channel)

    def _call(self, method: grpc.UnaryUnaryMultiCallable, request: object) -> None:
        delay = 0.1
        for attempt in range(_ATTEMPTS):
            try:
                method(request, timeout=_DEADLINE_S)
                return
            except grpc.RpcError as err:
                if err.code() not in RETRYABLE_CODES or attempt == _ATTEMPTS - 1:
                    raise
            time.sleep(delay)  # backoff while the store service restarts
            delay *= 2

    def create_document(self, run_id: str) -> None:
        self._call(self._stub.CreateDocument, store_pb2.CreateDocumentRequest(run_id=run_id))

    def delete_document(self, run_id: str) -> None:
        self._call(self._stub.DeleteDocument, store_pb2.DeleteDocumentRequest(run_id=run_id))

    def close(self) -> None:
        self._channel.close()
