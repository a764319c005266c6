"""A run's store document (docs/store.md): how it keeps a value that is not BSON, and which
keys it has. The store keeps values so, the SDK reads them back and lfctl shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lightflow._wire.encodings import ENCODING_NDARRAY

# A stored non-BSON value is a wrapper sub-document {WRAPPER_KEY: <encoding>, ...}. Opaque
# encodings: {WRAPPER_KEY: <encoding>, WRAPPER_DATA_KEY: Binary(<bytes>)}. Structured encodings
# (whose payload is a BSON document) keep that document's fields beside WRAPPER_KEY.
WRAPPER_KEY = "__lightflow_payload__"
WRAPPER_DATA_KEY = "data"
STRUCTURED_ENCODINGS = frozenset({ENCODING_NDARRAY})

# A key is a dotted path: MongoDB nests documents 100 deep, and a key is a path, not data.
MAX_KEY_SEGMENTS = 100
MAX_KEY_CHARS = 1024


def is_document(value: object) -> bool:
    """A sub-document with keys (not a wrapped value, whose fields are no keys)."""
    return isinstance(value, Mapping) and WRAPPER_KEY not in value


def collect_keys(node: Mapping[str, Any], prefix: str, *, recursive: bool) -> list[str]:
    """The full dotted keys under `node` (at `prefix`), as the store's ListKeys lists them:
    the direct children, or with `recursive` every leaf (a value that is not a document, or an
    empty document)."""
    keys: list[str] = []
    for name, item in node.items():
        key = f"{prefix}.{name}" if prefix else name
        if recursive and is_document(item) and item:
            keys += collect_keys(item, key, recursive=True)
        else:
            keys.append(key)
    return keys
