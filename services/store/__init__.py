"""The Lightflow store service: the per-run document store over gRPC."""

from lightflow_common.transport import use_iomgr_transport

use_iomgr_transport()
