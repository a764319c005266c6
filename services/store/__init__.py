"""The Lightflow store service: the per-run document store over gRPC."""

from lightflow_common.transport import use_epoll1_transport

use_epoll1_transport()
