"""Config pieces as the runner's specs, for eval sets and scans alike: models (``get_model`` calls) and the
packages a run's environment installs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hawk_runner.plan import ModelSpec

from hawk_dagster.config.model_groups import ModelGroupModel, ModelItem, model_name
from hawk_dagster.config.task_sources import resolve_local


def model_spec(group: ModelGroupModel, item: ModelItem) -> ModelSpec:
    """The ``get_model`` call for one model item; only arguments the config sets are passed on."""
    name = model_name(group, item)
    if item.args is None:
        return ModelSpec(name=name)
    args: dict[str, Any] = item.args.model_dump(exclude_unset=True)
    for handled in ("role", "config", "base_url", "api_key"):
        args.pop(handled, None)
    return ModelSpec(
        name=name,
        args=args,
        config=dict(item.args.config),
        base_url=item.args.base_url,
        role=item.args.role,
    )


def role_models(model_roles: Mapping[str, ModelGroupModel]) -> dict[str, ModelSpec]:
    """``model_roles`` as ``get_model`` calls, role by role (a role's group holds exactly one model)."""
    return {role: model_spec(group, group.items[0]) for role, group in model_roles.items()}


def resolve_package_specs(specs: list[str], base_dir: Path | None) -> list[str]:
    """Requirements in first-seen order without repeats; local paths made absolute against ``base_dir``."""
    out: list[str] = []
    for spec in specs:
        spec = spec.strip()
        if base_dir is not None and (spec in (".", "..") or spec.startswith(("./", "../", "~"))):
            spec = str(resolve_local(base_dir, spec))
        if spec not in out:
            out.append(spec)
    return out
