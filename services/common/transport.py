"""The gRPC transport the services run on.

grpcio 1.85 reads and writes sockets on its EventEngine threads by default and hands each
event to the thread polling the completion queue: two thread wake-ups per message where the
older iomgr transport needs one (the polling thread reads the socket itself). On a task hop
(four messages, every thread asleep in between) the EventEngine threads added about six
context switches; with them off, a gRPC round trip costs 15-25 % less latency and CPU here
(docs/benchmarks.md, step 13). Set these variables yourself to choose otherwise."""

from __future__ import annotations

import os

# The EventEngine endpoints, clients and listeners; without them grpc uses iomgr.
IOMGR_EXPERIMENTS = ",".join(
    ("-event_engine_client", "-event_engine_listener", "-event_engine_for_all_other_endpoints")
)


def use_iomgr_transport() -> None:
    """Call first thing in a service's process, before anything imports grpc: grpc reads
    these settings once, when it is imported (setting them later, even before the first
    channel or server, changes nothing). The services' `__main__` modules do. Processes the
    service starts (a worker's task processes) inherit them."""
    os.environ.setdefault("GRPC_EXPERIMENTS", IOMGR_EXPERIMENTS)
    # With iomgr's default epoll1, every thread polling a completion queue (a server's, a
    # channel's) polls one shared epoll set, and whichever is polling reads the socket and
    # wakes the owner: the worker's health server thread woke 2.3 times per task hop for its
    # work stream. poll() keeps each queue to its own sockets (28.4 -> 25.2 context switches
    # per hop).
    os.environ.setdefault("GRPC_POLL_STRATEGY", "poll")
    # With iomgr, a channel no call is polling notices that its server is back only when
    # grpc's backup poller runs (every 5 s by default): a store restart held writes up to
    # 10 s longer than with the EventEngine (tests/integration/test_faults.py). Every 100 ms
    # brings it back to the EventEngine's recovery time, for ten timer wake-ups a second.
    os.environ.setdefault("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100")
