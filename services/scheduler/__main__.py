"""`python -m lightflow_scheduler`: one scheduler replica; run as many as you like. Its
options and `serve(config)` are in lightflow_scheduler.app."""

if __name__ == "__main__":
    from lightflow_scheduler.app import main

    main()
