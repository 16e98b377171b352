"""Grid expansion: a loaded config becomes the runner's ``RunPlan`` (tasks x solvers/agents x models).

The order follows the reference system (tasks outermost, then solvers followed by agents, then models) so that the
same YAML gives the same cells in the same order. Each cell gets a task name that is unique per model, because
``inspect_ai.eval_set`` tells tasks apart by name and model: two solvers on one task must not share a log identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hawk_runner.plan import GridCell, ModelSpec, RunPlan, SolverSpec, TaskSource

from hawk_dagster.config.eval_set import (
    BuiltinTaskGroup,
    CyberTaskGroup,
    EvalSetConfig,
    FileTaskGroup,
    ModelGroupModel,
    ModelItem,
    PackageModelGroup,
    PackageRegistryGroup,
    PackageTaskGroup,
    model_name,
    registry_name,
)
from hawk_dagster.config.ids import validate_eval_set_id
from hawk_dagster.config.loader import LoadedEvalSet
from hawk_dagster.config.task_sources import resolve_local


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


def _model_entries(config: EvalSetConfig) -> list[tuple[ModelSpec, str]]:
    return [
        (model_spec(group, item), model_name(group, item))
        for group in config.models or []
        for item in group.items
    ]


def model_roles(config: EvalSetConfig) -> dict[str, ModelSpec]:
    """``model_roles`` as ``get_model`` calls, role by role."""
    return {role: model_spec(group, group.items[0]) for role, group in config.model_roles.items()}


def required_packages(loaded: LoadedEvalSet) -> list[str]:
    """Every pip requirement the run's environment needs, first-seen order, builtins and repeats left out.

    Local paths (``./my_pkg``) are made absolute against the config's folder when it is known, so they install the
    same wherever the runner starts.
    """
    config = loaded.config
    groups: list[Any] = [
        *config.tasks,
        *config.solvers,
        *config.agents,
        *(config.models or []),
        *config.model_roles.values(),
    ]
    specs = [
        g.package
        for g in groups
        if isinstance(g, (PackageTaskGroup, PackageRegistryGroup, PackageModelGroup))
    ]
    specs.extend(config.packages)
    return resolve_package_specs(specs, loaded.base_dir)


def resolve_package_specs(specs: list[str], base_dir: Path | None) -> list[str]:
    """Requirements in first-seen order without repeats; local paths made absolute against ``base_dir``."""
    out: list[str] = []
    for spec in specs:
        spec = spec.strip()
        if base_dir is not None and (spec == "." or spec.startswith(("./", "../", "~"))):
            spec = str(resolve_local(base_dir, spec))
        if spec not in out:
            out.append(spec)
    return out


def eval_set_args(loaded: LoadedEvalSet, *, eval_set_id: str) -> dict[str, Any]:
    """Keyword arguments for ``inspect_ai.eval_set`` beyond tasks/log_dir/model_roles, as plain JSON."""
    config = loaded.config
    args: dict[str, Any] = {}
    if config.limit is not None:
        args["limit"] = list(config.limit) if isinstance(config.limit, tuple) else config.limit
    if config.sample_shuffle is not None:
        args["sample_shuffle"] = config.sample_shuffle
    if config.epochs is not None:
        args["epochs"] = (
            config.epochs
            if isinstance(config.epochs, int)
            else {"epochs": config.epochs.epochs, "reducer": config.epochs.reducer}
        )
    for key in ("message_limit", "token_limit", "time_limit", "working_limit"):
        value = getattr(config, key)
        if value is not None:
            args[key] = value
    args["score"] = config.score
    if isinstance(config.approval, str):
        args["approval"] = (
            str(resolve_local(loaded.base_dir, config.approval))
            if loaded.base_dir is not None
            else config.approval
        )
    elif config.approval is not None:
        args["approval"] = config.approval.model_dump(mode="json")
    if config.tags:
        args["tags"] = list(config.tags)
    ours: dict[str, Any] = {"eval_set_id": eval_set_id}
    if config.name is not None:
        ours["name"] = config.name
    args["metadata"] = {**config.metadata, **ours}
    args.update(loaded.extra_eval_set_args)
    return args


def build_run_plan(loaded: LoadedEvalSet, *, eval_set_id: str, log_dir: str) -> RunPlan:
    """The complete plan the runner executes for this config under ``eval_set_id`` and ``log_dir``."""
    validate_eval_set_id(eval_set_id)
    return RunPlan(
        eval_set_id=eval_set_id,
        log_dir=log_dir,
        cells=expand_grid(loaded),
        model_roles=model_roles(loaded.config),
        eval_set_args=eval_set_args(loaded, eval_set_id=eval_set_id),
        required_secrets=loaded.config.all_secret_names(),
        environment=dict(loaded.config.runner.environment),
        packages=required_packages(loaded),
    )
