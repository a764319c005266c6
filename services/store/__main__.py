"""`python -m lightflow_store`: serve the per-run store over gRPC. Its options and
`serve(config)` are in lightflow_store.app."""

from lightflow_common.transport import use_iomgr_transport

if __name__ == "__main__":
    # First, before anything imports grpc: it reads its transport settings once, on import.
    use_iomgr_transport()

    from lightflow_store.app import main

    main()
