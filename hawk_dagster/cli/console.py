"""Where the CLI prints for people: one console, sized for a terminal or for a log."""

from __future__ import annotations

import sys

from rich.console import Console


def stdout_console() -> Console:
    # Off a terminal (CI logs, pipes) rich would wrap at 80 columns and cut the results table.
    width = None if sys.stdout.isatty() else 140
    return Console(file=sys.stdout, highlight=False, width=width)
