"""python -m lightflow_cli: the same as `lfctl`."""

from lightflow_cli.main import main

main()
