"""Which access groups an eval set or scan requires: the groups of every model it names (and, for a scan, every
group of every eval set it reads).

Models named: the ``models`` and ``model_roles`` entries, each model's ``default`` fallback, and any argument anywhere
in the config (task, solver, agent, scanner or model arguments, pass-through keys) whose key is ``model``,
``models``, ``model_roles`` or ends in ``_model``/``_models`` (``grader_model``, ``judge_models``), when its value is
a ``provider/model`` name (or a list or mapping of them). Reading arguments can only add groups, so a guess errs on
the closed side. Models that only the logs reveal (a task's default model, a scorer calling its own grader) are added
at import (``access.stored_groups``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from hawk_dagster.access.model_access_rules import ModelAccessRules
from hawk_dagster.config.eval_set import EvalSetConfig
from hawk_dagster.config.model_groups import ModelGroupModel, model_name
from hawk_dagster.config.scan import ScanConfig

MODEL_ARG_KEY = re.compile(r"(^|_)(model|models|model_roles)$")
"""Argument keys whose values name models."""


def config_models(config: EvalSetConfig | ScanConfig) -> frozenset[str]:
    """Every model name the config names (see the module docstring)."""
    found: set[str] = set()
    groups: list[ModelGroupModel] = [*(config.models or []), *config.model_roles.values()]
    for group in groups:
        for item in group.items:
            found.add(model_name(group, item))
            if item.args is not None and item.args.default:
                found.add(item.args.default)
    found.update(_named_in_args(config.model_dump(mode="json", by_alias=True)))
    return frozenset(m.strip() for m in found if m.strip())


def _named_in_args(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, child in value.items():
            if isinstance(key, str) and MODEL_ARG_KEY.search(key):
                yield from _model_strings(child)
            yield from _named_in_args(child)
    elif isinstance(value, list):
        for child in value:
            yield from _named_in_args(child)


def _model_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if "/" in value.strip("/"):
            yield value
    elif isinstance(value, list):
        for child in value:
            yield from _model_strings(child)
    elif isinstance(value, Mapping):
        for child in value.values():
            yield from _model_strings(child)


def required_groups(
    config: EvalSetConfig | ScanConfig,
    rules: ModelAccessRules,
    *,
    source_groups: Iterable[Collection[str]] = (),
    extra_models: Iterable[str] = (),
) -> frozenset[str]:
    """The groups a principal must hold to run or see ``config``: never empty.

    Eval set: the groups of its models (``extra_models`` adds models its logs used); none named: the default group.
    Scan: the groups of its scanners' models, plus every group of every source eval set (``source_groups``: one
    collection per eval set, from the warehouse or the eval sets' stored groups); neither: the default group.
    """
    models = config_models(config) | frozenset(extra_models)
    if isinstance(config, ScanConfig):
        groups: set[str] = set(rules.groups_of_models(models)) if models else set()
        for source in source_groups:
            groups |= set(source)
        return frozenset(groups) or frozenset({rules.default_group})
    return rules.groups_of_models(models)
