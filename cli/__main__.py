"""`lfctl`, and `python -m lightflow_cli`: the same."""

from lightflow_common.transport import use_iomgr_transport


def main() -> None:
    """lfctl's entry point. `lfctl scheduler|store|worker start` serve in this process, and
    grpc reads its transport settings once, when it is imported: they are set before the
    command tree (which imports grpc) is, as a service's own `__main__` does. lfctl's client
    calls run on the same transport."""
    use_iomgr_transport()
    from lightflow_cli.main import cli  # noqa: PLC0415 - only after the transport settings

    cli(prog_name="lfctl")


if __name__ == "__main__":
    main()
