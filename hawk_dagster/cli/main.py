"""The ``hawk`` command: one entry point, ``--help`` on everything.

Subcommands import lazily: loading Dagster definitions or Inspect costs seconds, and ``hawk validate`` or
``hawk --help`` should not pay for what they do not use.
"""

from __future__ import annotations

import importlib
import warnings

import click

# Dagster flags preview/beta APIs it uses internally (e.g. in Pipes) with warnings meant for library authors; on a
# researcher's terminal they are noise between the progress lines.
warnings.filterwarnings("ignore", message=r".*is currently in (preview|beta)")

# name -> "module:attribute" of the click command
_COMMANDS = {
    "validate": "hawk_dagster.cli.config_commands:validate",
    "schema": "hawk_dagster.cli.config_commands:schema",
    "local": "hawk_dagster.cli.local:local",
    "eval-set": "hawk_dagster.cli.submit:submit_eval_set",
    "dev": "hawk_dagster.cli.dev:dev",
    "list": "hawk_dagster.cli.results:list_group",
    "transcript": "hawk_dagster.cli.results:transcript",
    "scan": "hawk_dagster.cli.scan:scan_group",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hawk-dagster", prog_name="hawk")
def cli() -> None:
    """Run Inspect AI eval-set grids through Dagster and keep every sample in a PostgreSQL warehouse."""
