"""Call metadata (gRPC headers) Lightflow's clients send and its services read."""

from __future__ import annotations

# Every call but health and reflection carries "authorization: Bearer <credential>": the
# stack's token, or a task's run credential (lightflow_common.credentials).
TOKEN_HEADER = "authorization"  # noqa: S105 - a header name, not a secret
BEARER_PREFIX = "Bearer "
# What the store does with a call on a run whose document is not there. Without the header:
# wait a while for one on its way (a scheduler creates a run's document with its arguments).
# "create": create it empty (a task of a run without arguments; its run must not have ended).
# "fail": answer NOT_FOUND at once.
MISSING_DOCUMENT_HEADER = "lightflow-missing-document"
CREATE_IF_MISSING = (MISSING_DOCUMENT_HEADER, "create")
FAIL_IF_MISSING = (MISSING_DOCUMENT_HEADER, "fail")


def bearer(credential: str) -> str:
    """The TOKEN_HEADER value carrying `credential`."""
    return f"{BEARER_PREFIX}{credential}"
