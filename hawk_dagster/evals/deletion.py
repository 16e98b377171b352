"""Deleting an eval set: its runs stopped, its sandbox namespace removed, its rows hidden; its logs and rows kept.

Planned first, then carried out, so ``hawk delete`` can show what it will stop before it stops anything. Only its
submitter or an administrator may delete it, and one who may not see it is told it does not exist (as an absent
id is). The warehouse row is marked, not removed: listings leave it out, ``--include-deleted`` shows it, and a later
import (a cancelled run's last import) keeps the mark because the importer never writes those columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hawk_dagster.access.policy import can_delete, can_view
from hawk_dagster.access.principal import Principal
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.warehouse.read.queries import UnknownIdError

if TYPE_CHECKING:
    import dagster as dg
    from sqlalchemy import Engine


class DeletionNotAllowedError(PermissionError):
    """The principal may see the eval set but is neither its submitter nor an administrator."""


@dataclass(frozen=True)
class DeletionPlan:
    eval_set_id: str
    created_by: str | None
    active_runs: tuple[tuple[str, str], ...]
    """``(run_id, Dagster status)`` of each queued or running run, which deleting stops."""
    sandbox_namespace: str | None
    """The Kubernetes namespace of its sandboxes, on a deployment that makes them."""
    in_warehouse: bool
    deleted_at: str | None
    """When it was deleted before (deleting again only stops what still runs)."""


@dataclass(frozen=True)
class DeletionResult:
    stopped: tuple[str, ...]
    """Runs asked to stop (queued ones are cancelled at once; running ones stop within the runner's grace)."""
    not_stopped: tuple[str, ...]
    """Runs that could not be reached (their process is already gone: run monitoring fails them)."""
    sandbox_deleted: bool


def plan_deletion(
    storage: StorageRoot,
    eval_set_id: str,
    *,
    principal: Principal,
    instance: dg.DagsterInstance | None,
    engine: Engine | None,
) -> DeletionPlan:
    from hawk_dagster.evals.ownership import eval_set_ownership
    from hawk_dagster.monitoring.dagster_runs import eval_set_runs, run_state

    owner = eval_set_ownership(storage, engine, eval_set_id)
    runs = eval_set_runs(instance, eval_set_id) if instance is not None else []
    created_by = owner.created_by
    if (not owner.submitted and not runs) or not can_view(principal, owner.groups):
        raise UnknownIdError(f"no eval set {eval_set_id!r} under {storage.uri}")
    if not can_delete(principal, created_by):
        raise DeletionNotAllowedError(
            f"only its submitter ({created_by or 'unknown'}) or an administrator may delete eval set {eval_set_id!r}"
        )
    active = tuple((run.run_id, run.status.value) for run in runs if run_state(run) in ("queued", "running"))
    return DeletionPlan(
        eval_set_id=eval_set_id,
        created_by=created_by,
        active_runs=active,
        sandbox_namespace=_sandbox_namespace(instance, eval_set_id),
        in_warehouse=owner.in_warehouse,
        deleted_at=owner.deleted_at,
    )


def delete_eval_set(
    plan: DeletionPlan,
    *,
    deleted_by: str,
    instance: dg.DagsterInstance | None,
    engine: Engine | None,
) -> DeletionResult:
    """Stop the plan's runs, remove the sandbox namespace, and mark the warehouse row (created if not imported yet,
    so a late import cannot bring the eval set back into listings)."""
    stopped: list[str] = []
    not_stopped: list[str] = []
    if instance is not None:
        for run_id, _ in plan.active_runs:
            (stopped if _stop(instance, run_id) else not_stopped).append(run_id)
    sandbox_deleted = False
    if instance is not None and plan.sandbox_namespace is not None:
        sandbox_deleted = bool(instance.run_launcher.delete_sandbox(plan.eval_set_id))  # type: ignore[attr-defined]
    if engine is not None:
        _mark_deleted(engine, plan.eval_set_id, deleted_by, plan.created_by)
    return DeletionResult(tuple(stopped), tuple(not_stopped), sandbox_deleted)


def _stop(instance: dg.DagsterInstance, run_id: str) -> bool:
    """Cancel a queued run or terminate a started one, through the instance's coordinator (and so its launcher)."""
    run = instance.get_run_by_id(run_id)
    if run is None or run.is_finished:
        return True
    from dagster._core.run_coordinator import QueuedRunCoordinator

    coordinator = instance.run_coordinator
    if isinstance(coordinator, QueuedRunCoordinator):
        return bool(coordinator.cancel_run(run_id))
    return bool(instance.run_launcher.terminate(run_id))


def _sandbox_namespace(instance: dg.DagsterInstance | None, eval_set_id: str) -> str | None:
    if instance is None:
        return None
    from hawk_dagster.deployment.k8s_launcher import HawkK8sRunLauncher
    from hawk_dagster.deployment.sandboxes import sandbox_namespace

    launcher = instance.run_launcher
    if not isinstance(launcher, HawkK8sRunLauncher) or not launcher.sandbox.enabled:
        return None
    return sandbox_namespace(launcher.sandbox_policy.prefix, eval_set_id)


def _mark_deleted(engine: Engine, eval_set_id: str, deleted_by: str, created_by: str | None) -> None:
    from sqlalchemy import func
    from sqlalchemy.dialects.postgresql import insert

    from hawk_dagster.access.settings import access_settings_from_env
    from hawk_dagster.warehouse.schema.models import EvalSet, table_of

    table = table_of(EvalSet)
    stmt = insert(table).values(
        eval_set_id=eval_set_id,
        created_by=created_by,
        deleted_at=func.now(),
        deleted_by=deleted_by,
        model_groups=[access_settings_from_env().default_group],
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.eval_set_id],
        set_={
            "deleted_at": func.coalesce(table.c.deleted_at, func.now()),
            "deleted_by": func.coalesce(table.c.deleted_by, deleted_by),
        },
    )
    with engine.begin() as conn:
        conn.execute(stmt)
