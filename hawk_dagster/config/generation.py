"""Inspect's generation settings (``GenerateConfig``: temperature, max_tokens, max_connections, ...): the one place
that says which keys they are and where a config sets them, for the loader's warnings and the unknown-key errors.

A generation setting is set per model under ``models[].items[].args.config`` (validated there); an eval-set config
also takes one at its top level, passed to ``inspect_ai.eval_set`` for every model (with a warning). Anywhere else
(``runner:``, the top level of a scan config) it is an unknown key, and the error says where it goes.

The names are read from the committed eval-set JSON Schema, which publishes ``GenerateConfig`` and which a test keeps
equal to the models, not from inspect_ai: importing it takes seconds, and an unknown-key error must stay fast.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

SETTINGS_PLACE = "models[].items[].args.config"
_SCHEMA = Path(__file__).parent / "schemas" / "eval-set.schema.json"


@functools.cache
def generation_settings() -> frozenset[str]:
    """The keys of Inspect's ``GenerateConfig``."""
    schema = json.loads(_SCHEMA.read_text())
    return frozenset(schema["$defs"]["GenerateConfig"]["properties"])


def where_generation_setting_goes(key: str) -> str | None:
    """For a generation setting written where none is read, where it goes; None for any other key."""
    if key not in generation_settings():
        return None
    return (
        f"{key!r} is an Inspect generation setting: set it per model under {SETTINGS_PLACE} (an eval-set config "
        "also takes it at the top level, for every model)"
    )
