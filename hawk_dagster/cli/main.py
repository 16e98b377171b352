"""The ``hawk`` command: one entry point, ``--help`` on everything.

Commands are imported only when they run: loading Dagster definitions or Inspect costs seconds, and ``hawk --help``,
``hawk validate`` or ``hawk list`` should not pay for what they do not use. So ``hawk --help`` lists commands from
the table below, whose one-line summaries a test keeps equal to the commands' own.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from typing import Any, TextIO

import click

VERBOSE_ENV = "HAWK_VERBOSE"
"""Set by ``hawk --verbose`` (or by hand): tracebacks and library warnings reach the terminal."""

# Libraries whose warnings are meant for their API's users, not for ours: Dagster's preview/beta/supersession notes
# about APIs it uses itself, SQLAlchemy's. On a researcher's terminal they are noise between the progress lines.
QUIET_WARNING_SOURCES = ("dagster", "dagster_shared", "dagster_pipes", "sqlalchemy", "alembic")
_show_warning = warnings.showwarning


def is_verbose() -> bool:
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def _show_warning_unless_quiet(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    quiet = category.__module__.split(".")[0] in QUIET_WARNING_SOURCES or any(
        f"{os.sep}{source}{os.sep}" in filename for source in QUIET_WARNING_SOURCES
    )
    if is_verbose() or not quiet:
        _show_warning(message, category, filename, lineno, file, line)


warnings.showwarning = _show_warning_unless_quiet


@dataclass(frozen=True)
class LazyCommand:
    target: str
    """``module:attribute`` of the click command."""
    summary: str
    """The command's one-line summary (its own short help), shown by ``hawk --help``."""

    def load(self) -> click.Command:
        module, attribute = self.target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


COMMANDS = {
    "access": LazyCommand(
        "hawk_dagster.cli.access:access_group",
        "Model-group access: check the model-groups file, recompute eval sets' and scans' groups.",
    ),
    "auth": LazyCommand(
        "hawk_dagster.cli.auth:auth_group",
        "Print the signed-in user's tokens, for scripts and other tools (`hawk login` first).",
    ),
    "delete": LazyCommand(
        "hawk_dagster.cli.delete:delete",
        "Stop an eval set's runs, remove its sandbox namespace, and hide it from listings (its logs are kept).",
    ),
    "dev": LazyCommand(
        "hawk_dagster.cli.dev:dev",
        "Start the Dagster UI and daemon (sensors, automation) for the storage root, and the hawk API beside them.",
    ),
    "edit-samples": LazyCommand(
        "hawk_dagster.cli.edits:edit_samples",
        "Edit scores or (un)invalidate samples from a JSON or JSONL FILE, written into the logs and re-imported.",
    ),
    "eval-set": LazyCommand(
        "hawk_dagster.cli.submit:submit_eval_set",
        "Validate CONFIG and submit it to the deployment at HAWK_STORAGE_ROOT (e.g. s3://bucket/prefix).",
    ),
    "logs": LazyCommand(
        "hawk_dagster.cli.logs:logs",
        "Print an eval set's Dagster events and runner output; -f follows until its run ends.",
    ),
    "list": LazyCommand(
        "hawk_dagster.cli.results:list_group",
        "List eval sets, evals, samples, scans and sample edits from the warehouse.",
    ),
    "local": LazyCommand(
        "hawk_dagster.cli.local:local", "Run configs on this machine, through a local Dagster instance."
    ),
    "scan": LazyCommand(
        "hawk_dagster.cli.scan:scan_group",
        "Work with scans: submit them to a deployment, resume them, export their results.",
    ),
    "login": LazyCommand(
        "hawk_dagster.cli.auth:login",
        "Sign in to the deployment's OpenID provider (device flow) and keep the tokens for later commands.",
    ),
    "logout": LazyCommand(
        "hawk_dagster.cli.auth:logout",
        "Forget the stored tokens, revoking the refresh token at the provider first.",
    ),
    "schema": LazyCommand(
        "hawk_dagster.cli.config_commands:schema",
        "Print the JSON Schema of a config KIND (for editors and the YAML language server), or of `hawk status`'s "
        "report.",
    ),
    "status": LazyCommand(
        "hawk_dagster.cli.status:status",
        "Print a JSON report on an eval set: runs, each cell's progress, errors by kind, warehouse import.",
    ),
    "serve": LazyCommand(
        "hawk_dagster.cli.serve:serve",
        "Serve the HTTP API: submit, list, transcripts and exports, by the callers' model groups.",
    ),
    "transcript": LazyCommand(
        "hawk_dagster.cli.transcript:transcript",
        "Print the conversation of SAMPLE_UUID as Markdown: messages, tool calls, scores, error.",
    ),
    "view-sample": LazyCommand(
        "hawk_dagster.cli.web:view_sample",
        "Open SAMPLE_UUID in Inspect's log viewer, served by `hawk serve`, in a browser.",
    ),
    "web": LazyCommand(
        "hawk_dagster.cli.web:web",
        "Open EVAL_SET_ID's results page (default: the last eval set run here) in a browser.",
    ),
    "validate": LazyCommand(
        "hawk_dagster.cli.config_commands:validate",
        "Check an eval-set or scan CONFIG statically and print what it would run.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = COMMANDS.get(cmd_name)
        return lazy.load() if lazy is not None else None

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an unexpected error ends in one line (``error: ...``, exit 1), its traceback only with
        ``--verbose``."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as ex:
            if is_verbose():
                raise
            click.echo(f"error: {one_line(ex)} (`hawk --verbose ...` shows the traceback)", err=True)
            ctx.exit(1)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table instead of the imported commands (whole summaries, wrapped rather than cut).
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name].summary) for name in self.list_commands(ctx)])


def one_line(ex: BaseException) -> str:
    """``ClassName: first line of the message``."""
    lines = str(ex).strip().splitlines()
    return f"{type(ex).__name__}: {lines[0]}" if lines else type(ex).__name__


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hawk-dagster", prog_name="hawk")
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and library warnings (for bug reports).")
def cli(verbose: bool) -> None:
    """Run Inspect AI eval-set grids through Dagster and keep every sample in a PostgreSQL warehouse."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
