"""One truth about Inspect's generation settings (max_connections, temperature, ...): what they are, where a config
sets them, and what every other place says about them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.generation import SETTINGS_PLACE, generation_settings
from hawk_dagster.config.loader import load_eval_set_config, load_scan_config

POINTER = (
    f"'max_connections' is an Inspect generation setting: set it per model under {SETTINGS_PLACE} (an eval-set "
    "config also takes it at the top level, for every model)"
)

EVAL_SET = """
tasks:
  - package: inspect-ai
    items: [{name: t}]
models:
  - items: [{name: hawk-mock/a, args: {config: {max_connections: 4}}}]
"""

SCAN = """
scanners: [{package: inspect-scout, items: [{name: grep_scanner, args: {pattern: x}}]}]
transcripts: {sources: [{eval_set_id: es}]}
models:
  - items: [{name: hawk-mock/judge, args: {config: {max_connections: 4}}}]
"""


def test_the_settings_are_inspects_generate_config() -> None:
    """Read from the committed schema (fast), which must list exactly GenerateConfig's fields."""
    from inspect_ai.model import GenerateConfig

    assert generation_settings() == frozenset(GenerateConfig.model_fields)
    assert "max_connections" in generation_settings()


def test_per_model_is_where_they_go(write_config: Callable[..., Path]) -> None:
    loaded = load_eval_set_config(write_config(EVAL_SET))
    assert loaded.warnings == []
    (group,) = loaded.config.models or []
    assert group.items[0].args.config == {"max_connections": 4}
    assert load_scan_config(write_config(SCAN, "scan.yaml")).warnings == []


def test_an_eval_sets_top_level_passes_one_to_every_model(write_config: Callable[..., Path]) -> None:
    loaded = load_eval_set_config(write_config(EVAL_SET + "max_connections: 8\nmax_conections: 2\n"))
    assert loaded.extra_eval_set_args == {"max_connections": 8, "max_conections": 2}
    known, typo = loaded.warnings
    assert "'max_connections' is an Inspect generation setting" in known and "applies to every model" in known
    assert "did you mean 'max_connections'?" in typo


@pytest.mark.parametrize(
    ("text", "name", "path"),
    [
        (EVAL_SET + "runner: {max_connections: 8}\n", "grid.yaml", "runner.max_connections"),
        (SCAN + "runner: {max_connections: 8}\n", "scan.yaml", "runner.max_connections"),
        (SCAN + "max_connections: 8\n", "scan.yaml", "max_connections"),
    ],
    ids=["eval-set runner", "scan runner", "scan top level"],
)
def test_anywhere_else_the_error_says_where_it_goes(
    write_config: Callable[..., Path], text: str, name: str, path: str
) -> None:
    load = load_scan_config if name == "scan.yaml" else load_eval_set_config
    with pytest.raises(ConfigError) as raised:
        load(write_config(text, name))
    (issue,) = raised.value.issues
    assert issue.path == path
    assert issue.allowed.startswith(f"unknown key 'max_connections' here; {POINTER}")
