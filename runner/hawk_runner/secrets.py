"""Declared secrets: the one check (and the one message) for "a secret this run needs is missing".

Used wherever a run is about to start: the CLI before it submits anything (against the values passed with
``--secret``/``--secrets-file``), the Dagster step before it starts the runner, and the runner itself (against its
own environment, which is where the values finally arrive). Messages name variables, never values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class MissingSecretsError(RuntimeError):
    """Declared secrets that have no value; the message says how to provide them."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        flags = " ".join(f"--secret {name}" for name in missing)
        super().__init__(
            f"missing required secrets: {', '.join(missing)}. Export them and pass `{flags}`, or put NAME=value "
            "lines in a file and pass `--secrets-file FILE` (on a deployment: set them in the runner's environment). "
            "Values go to the runner's environment only and are never logged."
        )


def missing_secrets(required: Iterable[str], provided: Mapping[str, str]) -> list[str]:
    """The required names without a non-empty value in ``provided``."""
    return [name for name in required if not provided.get(name)]


def check_secrets(required: Iterable[str], provided: Mapping[str, str]) -> None:
    """Raise :class:`MissingSecretsError` naming every required secret that ``provided`` lacks."""
    missing = missing_secrets(required, provided)
    if missing:
        raise MissingSecretsError(missing)
