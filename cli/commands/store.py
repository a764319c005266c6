"""`lfctl store`: look into the store document of a running or kept run.

Values are shown as readable JSON-ish text without running any user code: BSON values as
JSON, numpy arrays as a dtype/shape summary, pickled Python objects as a size summary (they are
never unpickled here)."""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

import bson
import click
import grpc
from bson.errors import BSONError

from lightflow import LightflowError
from lightflow._codec import wrap
from lightflow._replicas import Replicas
from lightflow._store import StoreClient, StoreNotFoundError
from lightflow._wire.documents import WRAPPER_DATA_KEY, WRAPPER_KEY
from lightflow._wire.encodings import (
    BSON_FIELD,
    ENCODING_BSON,
    ENCODING_CLOUDPICKLE,
    ENCODING_NDARRAY,
)
from lightflow._wire.headers import FAIL_IF_MISSING
from lightflow.v1 import common_pb2
from lightflow_cli.context import store_connection

# A command for a person: give up on an unreachable store after a few seconds, not 30.
_RETRY_SECONDS = 3.0
_CALL_TIMEOUT_SECONDS = 60.0
_BYTES_SHOWN = 32


@click.group()
def store() -> None:
    """Run the store service, and look into the per-run store."""


@store.command("get")
@click.argument("run_id")
@click.argument("key", required=False)
@click.option(
    "--section",
    type=click.Choice(["data", "meta"], case_sensitive=False),
    default="data",
    show_default=True,
    help="The part of the run's document: what tasks stored, or the engine's provenance.",
)
@click.option(
    "--store-address",
    envvar="LIGHTFLOW_STORE_ADDRESS",
    default=None,
    help="host:port of the store service; default: the stack `lfctl up` runs in this folder.",
)
def get(run_id: str, key: str | None, section: str, store_address: str | None) -> None:
    """Show what run RUN_ID holds: its whole SECTION, or the value at the dotted KEY."""
    address, token, schedulers = store_connection(store_address)
    # The schedulers create a document late: with them known, one not there yet is asked for;
    # and they hold a live run's provenance (the meta section).
    replicas = Replicas(schedulers, token) if schedulers else None
    documents = _AskSchedulers(replicas) if replicas is not None else None
    try:
        with StoreClient(
            address,
            token,
            call_timeout=_CALL_TIMEOUT_SECONDS,
            retry_seconds=_RETRY_SECONDS,
            documents=documents,
            read_meta=replicas.read_meta if replicas is not None else None,
        ) as client:
            if key is None:
                raw = client.get_document_bson(run_id, section=section)
                try:
                    shown: Any = _readable(bson.decode(raw))
                except (BSONError, ValueError) as err:
                    raise click.ClickException(f"the store sent a corrupt document: {err}") from err
            else:
                payload = client.get_payload(run_id, key, section=section)
                if payload is None:
                    raise click.ClickException(
                        f"run {run_id!r} has no key {key!r} in its {section} section"
                    )
                shown = _readable_payload(payload)
    except StoreNotFoundError as err:
        raise click.ClickException(
            f"{err} (it is removed when the run ends, unless the run keeps its data)"
        ) from err
    except LightflowError as err:
        raise click.ClickException(str(err)) from err
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False, default=str))


class _AskSchedulers:
    """A live run's document may still be to be created: the schedulers are asked for it
    before the store is called (SignalService.EnsureDocument). A run that ended without one,
    or that they do not know, is looked up in the store without waiting."""

    def __init__(self, replicas: Replicas) -> None:
        self._replicas = replicas
        self._available: dict[str, bool] = {}

    def metadata(self, run_id: str) -> tuple[tuple[str, str], ...]:
        if run_id not in self._available:
            try:
                self._available[run_id] = self._replicas.ensure_document(run_id)
            except grpc.RpcError:  # no scheduler answers: the store waits a while for one
                self._available[run_id] = True
        return () if self._available[run_id] else (FAIL_IF_MISSING,)


def _readable_payload(payload: common_pb2.Payload) -> Any:
    if payload.encoding == ENCODING_BSON:
        try:
            return _readable(bson.decode(payload.data).get(BSON_FIELD))
        except (BSONError, ValueError) as err:
            raise click.ClickException(f"the store sent a corrupt value: {err}") from err
    try:
        return _readable(wrap(payload.encoding, payload.data))
    except LightflowError as err:
        raise click.ClickException(f"the store sent a corrupt value: {err}") from err


def _readable(value: Any) -> Any:
    """A BSON-decoded value as JSON-able data; wrapped values as one-line summaries."""
    if isinstance(value, dict):
        if isinstance(value.get(WRAPPER_KEY), str):
            return _summary(value)
        return {name: _readable(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_readable(item) for item in value]
    if isinstance(value, bytes):
        head = value[:_BYTES_SHOWN].hex()
        more = "..." if len(value) > _BYTES_SHOWN else ""
        return f"<{len(value)} bytes: {head}{more}>"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)  # BSON's Int64 too
    if isinstance(value, float | str) or value is None:
        return value
    return str(value)  # ObjectId, Decimal128, regular expressions...


def _summary(wrapper: dict[str, Any]) -> str:
    encoding = wrapper[WRAPPER_KEY]
    if encoding == ENCODING_NDARRAY:
        shape = "x".join(str(size) for size in wrapper.get("shape", [])) or "scalar"
        return f"<ndarray dtype={_dtype_name(str(wrapper.get('dtype')))} shape={shape}>"
    data = wrapper.get(WRAPPER_DATA_KEY)
    size = f", {len(data)} bytes" if isinstance(data, bytes) else ""
    if encoding == ENCODING_CLOUDPICKLE:
        return f"<python object (pickled{size})>"
    return f"<{encoding} value{size}>"


def _dtype_name(dtype: str) -> str:
    """numpy's name for a dtype string ("<f8" -> "float64") when numpy is there."""
    try:
        import numpy  # noqa: PLC0415 - optional; the dtype string is shown without it

        return str(numpy.dtype(dtype))
    except (ImportError, TypeError, ValueError):
        return dtype
