"""Call metadata (gRPC headers) Lightflow's clients send and its services read."""

from __future__ import annotations

# Every call but health and reflection carries "authorization: Bearer <credential>": the
# stack's token, or a task's run credential (lightflow_common.credentials).
TOKEN_HEADER = "authorization"  # noqa: S105 - a header name, not a secret
BEARER_PREFIX = "Bearer "
# "fail": answer NOT_FOUND at once for a run whose document is still to be created, rather
# than wait for one on its way (the caller then asks the schedulers for it, EnsureDocument).
MISSING_DOCUMENT_HEADER = "lightflow-missing-document"
FAIL_IF_MISSING = (MISSING_DOCUMENT_HEADER, "fail")


def bearer(credential: str) -> str:
    """The TOKEN_HEADER value carrying `credential`."""
    return f"{BEARER_PREFIX}{credential}"
