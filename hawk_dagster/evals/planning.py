"""From an eval-set config to the runner's plan, and from a submission to its validated config: one loader, used by
every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hawk_runner.plan import RunPlan

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.config.eval_set import PackageRegistryGroup, PackageTaskGroup
from hawk_dagster.config.ids import validate_eval_set_id
from hawk_dagster.config.loader import LoadedEvalSet, load_eval_set_config
from hawk_dagster.config.model_groups import PackageModelGroup
from hawk_dagster.config.task_sources import resolve_local
from hawk_dagster.evals.grid import expand_grid
from hawk_dagster.execution.specs import resolve_package_specs, role_models
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.storage.submissions import Submitted, load_submitted

SubmittedEvalSet = Submitted[LoadedEvalSet]


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
        model_roles=role_models(loaded.config.model_roles),
        eval_set_args=eval_set_args(loaded, eval_set_id=eval_set_id),
        required_secrets=loaded.config.all_secret_names(),
        environment=dict(loaded.config.runner.environment),
        packages=required_packages(loaded),
    )


def load_eval_set(
    source: str, text: str, base_dir: Path | None, carried: CarriedResolver | None = None
) -> LoadedEvalSet:
    """The eval-set loader in the shape submissions and the configs folder call it."""
    return load_eval_set_config(source, text=text, base_dir=base_dir, carried=carried)


def load_submitted_eval_set(storage: StorageRoot, eval_set_id: str) -> SubmittedEvalSet:
    """The eval set's submission and its config, validated by the current code (raises ``ConfigError``, or
    ``SubmissionNotFoundError`` for an eval set that was never submitted to this root)."""
    return load_submitted(storage, eval_set_id, EVALS, load_eval_set)


def plan_for_eval_set(storage: StorageRoot, submitted: SubmittedEvalSet) -> RunPlan:
    eval_set_id = submitted.submission.eval_set_id
    return build_run_plan(
        submitted.loaded, eval_set_id=eval_set_id, log_dir=storage.eval_log_dir(eval_set_id)
    )
