"""`lfctl -h` is `lfctl --help`, on every command, and no command uses -h for anything else."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from lightflow_cli.main import cli


def commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


ALL = sorted(path for path, _ in commands())


def test_every_command_is_covered() -> None:
    assert () in ALL
    for path in [("run",), ("workflow", "status"), ("scheduler", "start"), ("store", "get")]:
        assert path in ALL


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(("lfctl", *path)))
def test_dash_h_shows_the_help(path: tuple[str, ...]) -> None:
    runner = CliRunner()
    short = runner.invoke(cli, [*path, "-h"], prog_name="lfctl")
    long = runner.invoke(cli, [*path, "--help"], prog_name="lfctl")
    assert short.exit_code == 0, short.output
    assert short.output == long.output
    assert short.output.startswith(f"Usage: {' '.join(('lfctl', *path))} ")
    assert "-h, --help" in short.output


def test_no_option_takes_dash_h_for_itself() -> None:
    for path, command in commands():
        for param in command.params:
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            assert "-h" not in names, f"lfctl {' '.join(path)}: {param.name} uses -h"
