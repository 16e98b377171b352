"""Pieces every ``hawk`` command shares: exit codes, bad input, the secrets and confirmation flags. Light on purpose:
every command imports it (configs are loaded by :mod:`hawk_dagster.cli.configs`)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

EXIT_OK, EXIT_EVAL_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def exit_quickly(code: int) -> NoReturn:
    """Exit without the final garbage collection over Dagster's and Inspect's heap (about a second on 2 cores);
    atexit handlers, such as stopping the embedded PostgreSQL server, still run."""
    sys.stdout.flush()
    gc.disable()
    gc.freeze()
    sys.exit(code)


def fail_bad_input(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def secrets_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--secrets-file",
        "secrets_files",
        multiple=True,
        type=click.Path(path_type=Path, dir_okay=False),
        help="A dotenv file of NAME=value secrets for the runner's environment (repeatable).",
    )(func)
    func = click.option(
        "--secret",
        "secret_names",
        multiple=True,
        metavar="NAME",
        help="Pass the environment variable NAME to the runner as a secret (repeatable).",
    )(func)
    return func


def skip_confirm_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--skip-confirm", is_flag=True, help="Do not ask before passing unknown top-level keys to eval_set."
    )(func)
