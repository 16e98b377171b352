"""Turn the plan's grid cells into Inspect ``Task`` objects, one distinct task name per cell."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from inspect_ai import Task, task_with
from inspect_ai.agent import as_solver
from inspect_ai.model import GenerateConfig, Model, get_model
from inspect_ai.solver import Solver
from inspect_ai.util import registry_create

from hawk_runner.plan import GridCell, ModelSpec, SolverSpec, TaskSource


class TaskLoadError(RuntimeError):
    """A task, solver or model named in the plan could not be created; the message says which cell and why."""


def build_model(spec: ModelSpec) -> Model:
    return get_model(
        spec.name,
        config=GenerateConfig(**spec.config),
        base_url=spec.base_url,
        role=spec.role,
        **spec.args,
    )


def build_solver(spec: SolverSpec) -> Solver:
    if spec.kind == "agent":
        return as_solver(registry_create("agent", spec.name, **spec.args))
    return registry_create("solver", spec.name, **spec.args)


def _load_file_task(ref: str, args: dict[str, Any]) -> Task:
    # Import the file by path and call the @task function: public API only, and Inspect still records the task file.
    path_str, _, func_name = ref.rpartition("@")
    path = Path(path_str)
    module_name = f"hawk_task_{abs(hash(str(path))):x}"
    module = sys.modules.get(module_name)
    if module is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise TaskLoadError(f"cannot import task file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        sys.path.insert(0, str(path.parent))  # let the task file import its siblings
        try:
            spec.loader.exec_module(module)
        except BaseException:
            # As the import system does: a file that failed to import is not left half-loaded for the next attempt
            # (a runner on standby tries first, the run again), which would then report a missing function.
            del sys.modules[module_name]
            raise
    func = getattr(module, func_name, None)
    if func is None:
        raise TaskLoadError(f"{path} has no task function {func_name!r}")
    task = func(**args)
    if not isinstance(task, Task):
        raise TaskLoadError(
            f"{path}: {func_name}() returned {type(task).__name__}, not an Inspect Task (use @task)"
        )
    return task


def _load_task(source: TaskSource) -> Task:
    if source.kind == "registry":
        return registry_create("task", source.ref, **source.args)
    if source.kind == "file":
        return _load_file_task(source.ref, source.args)
    from inspect_cyber import cyber_task

    return cyber_task(
        root_dir=source.ref, eval_names=source.eval_names, variant_names=source.variant_names, **source.args
    )


def _select_samples(task: Task, sample_ids: list[str | int]) -> Task:
    wanted = {str(i) for i in sample_ids}
    present = {str(s.id) for s in task.dataset}
    missing = sorted(wanted - present)
    if missing:
        raise TaskLoadError(
            f"sample_ids not in the dataset of task {task.name!r}: {', '.join(missing)} "
            f"(it has {len(present)} samples)"
        )
    return task_with(task, dataset=task.dataset.filter(lambda s: str(s.id) in wanted))


def build_task(cell: GridCell) -> Task:
    """The cell's task, renamed to the cell name, with its solver/agent and model bound."""
    try:
        task = _load_task(cell.task)
        if cell.task.sample_ids:
            task = _select_samples(task, cell.task.sample_ids)
        changes: dict[str, Any] = {"name": cell.name}
        if cell.solver is not None:
            changes["solver"] = build_solver(cell.solver)
        if cell.model is not None:
            changes["model"] = build_model(cell.model)
        return task_with(task, **changes)
    except TaskLoadError:
        raise
    except Exception as ex:
        raise TaskLoadError(f"cell {cell.name!r} ({cell.task_label}): {type(ex).__name__}: {ex}") from ex
