"""Edits in the Dagster UI: each log an edit request rewrote and re-imported is reported as a runless
materialisation of its eval set's ``eval_warehouse`` partition (the warehouse did change), whose metadata lists the
request, its author and every edit with its values before and after.

Only on a Dagster instance that already exists (the storage root's local instance, created by ``hawk local`` or
``hawk dev``): an edit never creates one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hawk_dagster.names import EVAL_WAREHOUSE

if TYPE_CHECKING:
    import dagster as dg

    from hawk_dagster.edits.service import LogResult

MAX_LISTED = 200
"""Edits listed in one materialisation's metadata (the count is always complete)."""


def existing_local_instance(state_dir: Path) -> dg.DagsterInstance | None:
    if not (state_dir / "dagster" / "dagster.yaml").is_file():
        return None
    from hawk_dagster.deployment.local_instance import local_instance

    return local_instance(state_dir)


def edit_metadata(result: LogResult, *, request_id: str, author: str) -> dict[str, Any]:
    import dagster as dg

    outcome = result.outcome
    edits = outcome.edits if outcome is not None else []
    listed = [
        {
            "sample_uuid": applied.edit.sample_uuid,
            "type": applied.edit.type,
            **({"scorer": applied.edit.scorer} if applied.edit.scorer else {}),
            "status": applied.status,
            "before": applied.before,
            "after": applied.after,
            "reason": applied.edit.reason,
        }
        for applied in edits[:MAX_LISTED]
    ]
    metadata: dict[str, Any] = {
        "source": "hawk edit-samples",
        "request_id": request_id,
        "author": author,
        "log": dg.MetadataValue.path(result.plan.location),
        "task_id": result.plan.task_id,
        "edits": len(edits),
        "applied": sum(1 for a in edits if a.status == "applied"),
        "edit_list": dg.MetadataValue.json(listed),
    }
    if outcome is not None:
        metadata["metrics_recomputed"] = outcome.metrics_recomputed
        if outcome.metrics_note:
            metadata["metrics_note"] = outcome.metrics_note
    if result.imported is not None:
        metadata["import_status"] = result.imported.status.value
        metadata["samples_imported"] = result.imported.samples
    return metadata


def report_edit(instance: dg.DagsterInstance, result: LogResult, *, request_id: str, author: str) -> None:
    """Record one materialisation of ``eval_warehouse`` (partition: the eval set) for the log's edits."""
    import dagster as dg

    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=EVAL_WAREHOUSE,
            partition=result.plan.eval_set_id,
            description=f"{author} edited {len(result.outcome.edits) if result.outcome else 0} sample(s)",
            metadata=edit_metadata(result, request_id=request_id, author=author),
        )
    )


def edit_reporter(
    instance: dg.DagsterInstance | None, *, request_id: str, author: str, warn: Callable[[str], None]
) -> Callable[[LogResult], None] | None:
    """``on_log`` for ``service.apply_plan``: each rewritten log reported to ``instance`` (None: no instance, no
    reports). A report that fails is passed to ``warn``: the edit stands, the UI just misses its event."""
    if instance is None:
        return None

    def report(log: LogResult) -> None:
        try:
            report_edit(instance, log, request_id=request_id, author=author)
        except Exception as ex:
            warn(f"could not report the edit to Dagster: {ex}")

    return report
