"""`python -m lightflow_worker`: a worker for some queues, connected to the schedulers. Its
options and `serve(config)` are in lightflow_worker.app."""

from lightflow_common.transport import use_iomgr_transport

if __name__ == "__main__":
    # First, before anything imports grpc: it reads its transport settings once, on import.
    use_iomgr_transport()

    from lightflow_worker.app import main

    main()
