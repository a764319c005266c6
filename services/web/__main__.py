"""`python -m lightflow_web`: serve the dashboard and the HTTP API. Its options and
`serve(config)` are in lightflow_web.app."""

from lightflow_common.transport import use_iomgr_transport

if __name__ == "__main__":
    # First, before anything imports grpc: it reads its transport settings once, on import.
    use_iomgr_transport()

    from lightflow_web.app import main

    main()
