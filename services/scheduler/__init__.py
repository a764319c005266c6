"""The scheduler service: stateless replicas that keep every run's state in redis."""

from lightflow_common.transport import use_epoll1_transport

use_epoll1_transport()
