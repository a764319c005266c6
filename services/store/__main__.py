"""`python -m lightflow_store`: serve the per-run store over gRPC. Its options and
`serve(config)` are in lightflow_store.app."""

if __name__ == "__main__":
    from lightflow_store.app import main

    main()
