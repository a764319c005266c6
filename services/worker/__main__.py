"""`python -m lightflow_worker`: a worker for some queues, connected to the schedulers. Its
options and `serve(config)` are in lightflow_worker.app."""

if __name__ == "__main__":
    from lightflow_worker.app import main

    main()
