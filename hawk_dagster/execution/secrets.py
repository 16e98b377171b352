"""Secrets from the command line: ``--secret NAME`` (value from the environment) and ``--secrets-file FILE`` (dotenv).

Values only ever travel into the runner's environment. Nothing here logs a value; errors name variables, never values.
Whether every declared secret was provided is checked by ``hawk_runner.secrets.check_secrets``, the one check every
entry point and the runner share.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from dotenv import dotenv_values


class SecretsError(ValueError):
    """A secret was asked for but not found, or a declared one was not provided; the message says how to fix it."""


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_secret_names(names: Iterable[str]) -> None:
    """Refuse ``--secret`` arguments that are not variable names, without repeating them.

    ``--secret API_KEY=sk-...`` is the common mistake; the argument then holds the value itself, so the message may
    quote the part before ``=`` when it is a plain name and nothing after it.
    """
    for position, name in enumerate(names, start=1):
        if _VARIABLE_NAME.fullmatch(name):
            continue
        head = name.split("=", 1)[0]
        shown = head if "=" in name and _VARIABLE_NAME.fullmatch(head) else None
        what = f"--secret {shown}=...: " if shown else f"--secret (argument {position}): "
        example = shown or "NAME"
        raise SecretsError(
            what + "--secret takes the name of an environment variable, not a value. "
            f"Export the value first (export {example}=...) and pass `--secret {example}`, or put "
            f"{example}=value lines in a file passed with --secrets-file."
        )


def collect_secrets(
    names: Iterable[str], files: Iterable[Path], environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Values from the files (in order, later files win), then ``--secret`` names read from the environment."""
    import os

    names = list(names)
    check_secret_names(names)
    env = dict(os.environ) if environ is None else environ
    values: dict[str, str] = {}
    for file in files:
        if not file.is_file():
            raise SecretsError(f"--secrets-file {file}: no such file")
        for key, value in dotenv_values(file).items():
            if value:  # an empty value is "not provided", not an empty secret
                values[key] = value
    unset = []
    for name in names:
        if env.get(name):
            values[name] = env[name]
        else:
            unset.append(name)
    if unset:
        raise SecretsError(
            f"--secret {', '.join(unset)}: not set in your environment. Export it first "
            f"(export {unset[0]}=...) or put it in a file passed with --secrets-file."
        )
    return values
