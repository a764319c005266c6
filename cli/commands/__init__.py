"""lfctl's commands, one module per verb group; `lightflow_cli.main` wires them together."""
