"""The scheduler service: stateless replicas that keep every run's state in redis."""

from lightflow_common.transport import use_iomgr_transport

use_iomgr_transport()
