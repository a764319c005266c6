"""`lfctl config`: write a default configuration file, copy the example workflows, show the
effective configuration (the file itself is lightflow_cli.config)."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import click

from lightflow_cli._output import print_table
from lightflow_cli.config import CONFIG_NAME, DEFAULT_CONFIG, shown
from lightflow_cli.context import Context, pass_context, user_errors


@click.group()
def config() -> None:
    """Write a default configuration file, copy the example workflows, show the config."""


@config.command("default")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def config_default(dest: Path) -> None:
    """Write a default lightflow.cfg into DEST."""
    target = dest / CONFIG_NAME
    if target.exists():
        raise click.ClickException(f"{target} exists already")
    dest.mkdir(parents=True, exist_ok=True)
    target.write_text(DEFAULT_CONFIG)
    click.echo(f"wrote {target}")


@config.command("examples")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def config_examples(dest: Path) -> None:
    """Copy the example workflows into DEST/examples."""
    target = dest / "examples"
    target.mkdir(parents=True, exist_ok=True)
    source = resources.files("lightflow_examples")
    copied = []
    for item in sorted(source.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".py") and not item.name.startswith("_"):
            with resources.as_file(item) as path:
                shutil.copyfile(path, target / item.name)
            copied.append(item.name.removesuffix(".py"))
    click.echo(f"copied {len(copied)} workflows to {target}: {', '.join(copied)}")


@config.command("list")
@pass_context
@user_errors
def config_list(ctx: Context) -> None:
    """Every setting's effective value and where it came from (default, file or env)."""
    cfg = ctx.config
    click.echo(f"config file: {cfg.path or 'none (defaults and environment only)'}")
    print_table(("setting", "value", "source"), shown(cfg))
