"""Configs given on the command line: validated statically, warnings printed, every problem printed with exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from hawk_dagster.cli.common import EXIT_BAD_INPUT, fail_bad_input
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import (
    LoadedEvalSet,
    LoadedScan,
    load_eval_set_config,
    load_scan_config,
    read_config_text,
)

_Loaded = TypeVar("_Loaded", LoadedEvalSet, LoadedScan)


def read_config_or_exit(path: Path) -> str:
    """The config's text, read once (a pipe can be read only once); exit 2 with the reason when it cannot be."""
    try:
        return read_config_text(path)
    except ConfigError as ex:
        click.echo(str(ex), err=True)
        sys.exit(EXIT_BAD_INPUT)


def load_config_or_exit(
    path: Path, *, skip_confirm: bool, confirm_unknown_keys: bool = True, text: str | None = None
) -> LoadedEvalSet:
    """Validate statically; print warnings; before a launch, confirm unknown keys unless ``--skip-confirm``.

    ``text`` is the config's text when it was read already; ``loaded.text`` is what was validated, and what to
    submit (reading the file again could submit an edit nobody validated).
    """
    loaded = _load_or_exit(load_eval_set_config, path, text)
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


def load_scan_config_or_exit(path: Path, *, text: str | None = None) -> LoadedScan:
    """Validate a scan config statically; print its warnings; exit 2 with every problem when it is invalid."""
    return _load_or_exit(load_scan_config, path, text)


def _load_or_exit(load: Callable[..., _Loaded], path: Path, text: str | None) -> _Loaded:
    """``load(path, text=text)``, its warnings printed; every problem printed and exit 2 when it is invalid."""
    try:
        loaded = load(path, text=text)
    except ConfigError as ex:
        click.echo(str(ex), err=True)
        sys.exit(EXIT_BAD_INPUT)
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    return loaded
