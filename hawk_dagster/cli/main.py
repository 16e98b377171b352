"""The ``hawk`` command: one entry point, ``--help`` on everything."""

from __future__ import annotations

import click

from hawk_dagster.cli.config_commands import schema, validate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hawk-dagster", prog_name="hawk")
def cli() -> None:
    """Run Inspect AI eval-set grids through Dagster and read the results."""


cli.add_command(validate)
cli.add_command(schema)
