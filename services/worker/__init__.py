"""The worker service: runs task callbacks for its queues in a pool of processes."""

from lightflow_common.transport import use_iomgr_transport

use_iomgr_transport()
