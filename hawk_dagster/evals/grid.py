"""Grid expansion: a loaded config becomes the cells of the runner's ``RunPlan`` (tasks x solvers/agents x models).

The order follows the reference system (tasks outermost, then solvers followed by agents, then models) so that the
same YAML gives the same cells in the same order. Each cell gets a task name that is unique per model, because
``inspect_ai.eval_set`` tells tasks apart by name and model: two solvers on one task must not share a log identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hawk_runner.plan import GridCell, ModelSpec, SolverSpec, TaskSource

from hawk_dagster.config.eval_set import (
    BuiltinTaskGroup,
    CyberTaskGroup,
    EvalSetConfig,
    FileTaskGroup,
    PackageTaskGroup,
    registry_name,
)
from hawk_dagster.config.loader import LoadedEvalSet
from hawk_dagster.config.model_groups import model_name
from hawk_dagster.config.task_sources import resolve_local
from hawk_dagster.execution.specs import model_spec


@dataclass(frozen=True)
class _TaskEntry:
    source: TaskSource
    label: str
    name: str


def expand_grid(loaded: LoadedEvalSet) -> list[GridCell]:
    """Every task x (solvers + agents, or none) x (models, or none) cell, each with its distinct task name.

    Naming: a cell runs under its task item's name; when the grid has more than one solver/agent the name becomes
    ``<task>_<solver label>``. Repeated task names and solver labels get ``_2``, ``_3``... in order of appearance;
    cells that differ only by model share the name, unless the same model name appears twice (then ``_2``...).
    """
    tasks = _task_entries(loaded)
    solvers = _solver_entries(loaded.config)
    models = _model_entries(loaded.config)

    task_names = _dedupe([t.name for t in tasks], "_")
    solver_labels = _dedupe([label for _, label in solvers], "_")
    model_labels = _dedupe([label for _, label in models], "#")
    solver_choices: list[tuple[SolverSpec | None, str | None]] = list(
        zip([s for s, _ in solvers], solver_labels, strict=True)
    ) or [(None, None)]
    model_choices: list[tuple[ModelSpec | None, str | None]] = list(
        zip([m for m, _ in models], model_labels, strict=True)
    ) or [(None, None)]

    planned: list[tuple[str, _TaskEntry, SolverSpec | None, str | None, ModelSpec | None, str | None]] = []
    for task, task_name in zip(tasks, task_names, strict=True):
        for solver, solver_label in solver_choices:
            base = task_name if len(solver_choices) <= 1 else f"{task_name}_{solver_label}"
            for model, model_label in model_choices:
                planned.append((base, task, solver, solver_label, model, model_label))

    bases = {entry[0] for entry in planned}
    used: set[tuple[str, str | None]] = set()
    cells: list[GridCell] = []
    for base, task, solver, solver_label, model, model_label in planned:
        model_key = model.name if model else None
        name = base
        counter = 2
        while (name, model_key) in used or (name != base and name in bases):
            name = f"{base}_{counter}"
            counter += 1
        used.add((name, model_key))
        cells.append(
            GridCell(
                name=name,
                task=task.source,
                task_label=task.label,
                solver=solver,
                solver_label=solver_label,
                model=model,
                model_label=model_label,
            )
        )
    return cells


def _dedupe(names: list[str], separator: str) -> list[str]:
    """Keep the first of each name; later repeats get ``<name><sep>2``, ``<sep>3``... never taking a name in use."""
    originals = set(names)
    used: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate = name
        counter = 2
        while candidate in used or (candidate != name and candidate in originals):
            candidate = f"{name}{separator}{counter}"
            counter += 1
        used.add(candidate)
        out.append(candidate)
    return out


def _task_entries(loaded: LoadedEvalSet) -> list[_TaskEntry]:
    entries: list[_TaskEntry] = []
    for group in loaded.config.tasks:
        if isinstance(group, (PackageTaskGroup, BuiltinTaskGroup)):
            for item in group.items:
                ref = registry_name(group, item)
                source = TaskSource(
                    kind="registry", ref=ref, args=dict(item.args), sample_ids=item.sample_ids
                )
                entries.append(_TaskEntry(source=source, label=ref, name=item.name))
        elif isinstance(group, FileTaskGroup):
            path = resolve_local(_local_base(loaded, "path"), group.path)
            if group.items is None:
                raise ValueError(
                    f"task group with path {group.path!r} has no items; load the config with load_eval_set_config, "
                    "which fills them in from the file"
                )
            for item in group.items:
                source = TaskSource(
                    kind="file", ref=f"{path}@{item.name}", args=dict(item.args), sample_ids=item.sample_ids
                )
                entries.append(_TaskEntry(source=source, label=f"{group.path}@{item.name}", name=item.name))
        elif isinstance(group, CyberTaskGroup):
            root = resolve_local(_local_base(loaded, "cyber"), group.cyber)
            if group.items is None:
                source = TaskSource(kind="cyber", ref=str(root))
                entries.append(_TaskEntry(source=source, label=f"cyber:{group.cyber}", name=root.name))
                continue
            for cyber_item in group.items:
                source = TaskSource(
                    kind="cyber",
                    ref=str(root),
                    args=dict(cyber_item.args),
                    sample_ids=cyber_item.sample_ids,
                    eval_names=cyber_item.eval_names,
                    variant_names=cyber_item.variant_names,
                )
                label = f"cyber:{group.cyber}@{cyber_item.name}"
                entries.append(_TaskEntry(source=source, label=label, name=cyber_item.name))
    return entries


def _local_base(loaded: LoadedEvalSet, key: str) -> Path:
    if loaded.base_dir is None:
        raise ValueError(
            f"`{key}` task groups need a local config, but {loaded.source} has no base directory"
        )
    return loaded.base_dir


def _solver_entries(config: EvalSetConfig) -> list[tuple[SolverSpec, str]]:
    kinds: list[tuple[Literal["solver", "agent"], list[Any]]] = [
        ("solver", config.solvers),
        ("agent", config.agents),
    ]
    entries: list[tuple[SolverSpec, str]] = []
    for kind, groups in kinds:
        for group in groups:
            for item in group.items:
                spec = SolverSpec(kind=kind, name=registry_name(group, item), args=dict(item.args))
                entries.append((spec, item.name))
    return entries


def _model_entries(config: EvalSetConfig) -> list[tuple[ModelSpec, str]]:
    return [
        (model_spec(group, item), model_name(group, item))
        for group in config.models or []
        for item in group.items
    ]
