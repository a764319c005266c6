"""`python -m lightflow_scheduler`: one scheduler replica; run as many as you like. Its
options and `serve(config)` are in lightflow_scheduler.app."""

from lightflow_common.transport import use_iomgr_transport

if __name__ == "__main__":
    # First, before anything imports grpc: it reads its transport settings once, on import.
    use_iomgr_transport()

    from lightflow_scheduler.app import main

    main()
