"""Pieces every ``hawk`` command shares: loading a config with errors that exit 2, secrets flags, exit codes."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import LoadedEvalSet, LoadedScan, load_eval_set_config, load_scan_config

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


def load_config_or_exit(
    path: Path, *, skip_confirm: bool, confirm_unknown_keys: bool = True
) -> LoadedEvalSet:
    """Validate statically; print warnings; before a launch, confirm unknown keys unless ``--skip-confirm``."""
    loaded = _load_or_exit(load_eval_set_config, path)
    if loaded.extra_eval_set_args and confirm_unknown_keys and not skip_confirm:
        keys = ", ".join(sorted(loaded.extra_eval_set_args))
        if not sys.stdin.isatty():
            fail_bad_input(
                f"unknown top-level keys ({keys}) would be passed to inspect_ai.eval_set; "
                "re-run with --skip-confirm to accept them"
            )
        if not click.confirm(f"Pass {keys} to inspect_ai.eval_set as they are?", default=False):
            sys.exit(EXIT_BAD_INPUT)
    return loaded


def load_scan_config_or_exit(path: Path) -> LoadedScan:
    """Validate a scan config statically; print its warnings; exit 2 with every problem when it is invalid."""
    return _load_or_exit(load_scan_config, path)


_Loaded = TypeVar("_Loaded", LoadedEvalSet, LoadedScan)


def _load_or_exit(load: Callable[[Path], _Loaded], path: Path) -> _Loaded:
    """``load(path)``, its warnings printed; every problem printed and exit 2 when the config is invalid."""
    try:
        loaded = load(path)
    except ConfigError as ex:
        click.echo(str(ex), err=True)
        sys.exit(EXIT_BAD_INPUT)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    return loaded


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
