"""``hawk status``: one report from every source that knows about an eval set.

The plan (its submitted config) names the cells; the logs say how each one ended; the Dagster instance says which
runs there were and, while one runs, the runner's latest progress per cell; the warehouse says what was imported. Each
source answers alone when another is missing, so the report works while the eval set runs and for ever after.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from hawk_dagster.monitoring.log_state import LogCell, LogState, error_kind, read_log_state
from hawk_dagster.monitoring.report import (
    CellStatus,
    ErrorGroup,
    EvalSetInfo,
    KubernetesState,
    RunInfo,
    SampleCounts,
    StatusReport,
    WarehouseState,
)
from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun
    from hawk_runner.reporting import CellProgress
    from sqlalchemy import Engine


class UnknownEvalSetError(LookupError):
    """Neither a submission, a run nor a log of the eval set exists under the storage root."""


@dataclass(frozen=True)
class _PlannedCell:
    task: str
    agent: str | None
    model: str | None


def build_status(
    storage: StorageRoot,
    eval_set_id: str,
    *,
    instance: dg.DagsterInstance | None,
    engine: Engine | None,
    kubernetes: bool = False,
) -> StatusReport:
    """``kubernetes``: the deployment runs on Kubernetes, so the report has its pods (``monitoring.pods``)."""
    from hawk_dagster.monitoring import dagster_runs

    info, planned = _eval_set_info(storage, eval_set_id)
    runs = dagster_runs.eval_set_runs(instance, eval_set_id) if instance is not None else []
    logs = read_log_state(info.log_dir)
    if not runs and not logs.cells and info.submitted_at is None:
        raise UnknownEvalSetError(
            f"eval set {eval_set_id!r} is not known under {storage.uri}: no submission, no run and no log"
        )
    run_infos = [dagster_runs.run_info(instance, run) for run in runs] if instance is not None else []
    eval_runs = [run for run in runs if dagster_runs.runs_eval_logs(run)]
    latest = eval_runs[0] if eval_runs else None
    state = dagster_runs.run_state(latest)
    progress: dict[tuple[str, str], CellProgress] = {}
    if instance is not None and latest is not None and state == "running":
        progress = dagster_runs.latest_progress(instance, latest.run_id)
    importing = instance is not None and any(
        dagster_runs.run_state(run) in ("queued", "running") and not dagster_runs.runs_eval_logs(run)
        for run in runs
    )
    return StatusReport(
        generated_at=datetime.now(UTC),
        eval_set=info,
        state=state,
        runs=run_infos,
        cells=_cells(planned, logs, progress),
        errors=_errors(logs, run_infos),
        warehouse=_warehouse(instance, engine, eval_set_id, logs, importing),
        kubernetes=_kubernetes(instance, eval_set_id, runs) if kubernetes else None,
    )


def _kubernetes(
    instance: dg.DagsterInstance | None, eval_set_id: str, runs: list[DagsterRun]
) -> KubernetesState:
    from hawk_dagster.monitoring.pods import state_from_instance

    return state_from_instance(instance, eval_set_id, runs)


def _eval_set_info(storage: StorageRoot, eval_set_id: str) -> tuple[EvalSetInfo, list[_PlannedCell]]:
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.storage.submissions import SubmissionNotFoundError, read_submission

    log_dir = storage.eval_log_dir(eval_set_id)
    try:
        submission = read_submission(storage, eval_set_id)
    except (SubmissionNotFoundError, ConfigError):
        return EvalSetInfo(
            id=eval_set_id, name=None, created_by=None, submitted_at=None, log_dir=log_dir, cells=0
        ), []
    name: str | None = None
    planned: list[_PlannedCell] = []
    try:
        from hawk_dagster.evals.grid import expand_grid
        from hawk_dagster.evals.planning import load_submitted_eval_set

        loaded = load_submitted_eval_set(storage, eval_set_id).loaded
        name = loaded.config.name
        planned = [
            _PlannedCell(cell.name, cell.solver_label, cell.model.name if cell.model else None)
            for cell in expand_grid(loaded)
        ]
    except Exception:  # a config the current code refuses still has logs and runs to report
        pass
    return (
        EvalSetInfo(
            id=eval_set_id,
            name=name,
            created_by=submission.created_by,
            submitted_at=submission.submitted_at or None,
            log_dir=log_dir,
            cells=len(planned),
        ),
        planned,
    )


def _cells(
    planned: list[_PlannedCell], logs: LogState, progress: dict[tuple[str, str], CellProgress]
) -> list[CellStatus]:
    by_key: dict[tuple[str, str | None], LogCell] = {(c.task, c.model): c for c in logs.cells}
    cells: list[CellStatus] = []
    seen: set[tuple[str, str | None]] = set()
    for plan in planned:
        key = (plan.task, plan.model)
        seen.add(key)
        cells.append(
            _cell(
                plan.task,
                plan.agent,
                plan.model,
                by_key.get(key),
                progress.get((plan.task, plan.model or "")),
            )
        )
    for key, log_cell in by_key.items():
        if key not in seen:  # a cell the current config no longer names (edited and resubmitted)
            cells.append(
                _cell(
                    log_cell.task,
                    log_cell.agent,
                    log_cell.model,
                    log_cell,
                    progress.get((key[0], key[1] or "")),
                )
            )
    return cells


def _cell(
    task: str, agent: str | None, model: str | None, log: LogCell | None, live: CellProgress | None
) -> CellStatus:
    tokens = log.tokens if log is not None else {}
    if live is not None:
        return CellStatus(
            task=task,
            agent=agent or (log.agent if log else None),
            model=model,
            state="running",
            samples=SampleCounts(
                done=live.done, total=live.total or None, errors=live.errors, reused=live.reused
            ),
            retries=log.retries if log else 0,
            attempts=log.attempts if log else 1,
            tokens=tokens,
            source="progress",
            log=log.log if log else None,
        )
    if log is not None:
        return CellStatus(
            task=task,
            agent=agent or log.agent,
            model=model,
            state=log.state,
            samples=SampleCounts(done=log.done, total=log.total, errors=log.errors),
            retries=log.retries,
            attempts=log.attempts,
            tokens=tokens,
            source="log",
            log=log.log,
        )
    return CellStatus(
        task=task,
        agent=agent,
        model=model,
        state="not_started",
        samples=SampleCounts(done=0, total=None, errors=0),
        retries=0,
        attempts=0,
        tokens={},
        source="plan",
        log=None,
    )


def _errors(logs: LogState, runs: list[RunInfo]) -> list[ErrorGroup]:
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)  # kind -> [(where, message)]
    for cell in logs.cells:
        where = f"{cell.task} [{cell.model}]"
        for error in cell.sample_errors:
            groups[error.kind].append((where, error.message))
        if cell.eval_error is not None:
            groups[cell.eval_error.kind].append((where, cell.eval_error.message))
    for run in runs[:1]:  # the latest run's failures: older ones were retried since
        for failure in run.failures:
            step, _, reason = failure.partition(": ")
            groups[error_kind(reason).kind].append((f"step {step} of run {run.run_id[:8]}", reason))
    for problem in logs.unreadable:
        groups["unreadable log"].append((problem.split(": ", 1)[0], problem))
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [
        ErrorGroup(
            kind=kind,
            count=len(hits),
            cells=sorted({where for where, _ in hits}),
            example=hits[-1][1],
        )
        for kind, hits in ordered
    ]


def _warehouse(
    instance: dg.DagsterInstance | None,
    engine: Engine | None,
    eval_set_id: str,
    logs: LogState,
    importing: bool,
) -> WarehouseState:
    last_import = _last_import(instance, eval_set_id) if instance is not None else None
    in_logs = {cell.task_id: cell.samples_in_log for cell in logs.cells}
    if engine is None:
        return WarehouseState(
            state="unavailable",
            samples_in_logs=sum(in_logs.values()),
            samples_in_warehouse=None,
            mismatched={},
            last_import=last_import,
            detail="no warehouse for this storage root on this machine (set HAWK_WAREHOUSE_URL)",
        )
    from hawk_dagster.warehouse.read.counts import warehouse_counts

    in_warehouse = warehouse_counts(engine, eval_set_id)
    mismatched = {
        task_id: {"logs": in_logs.get(task_id, 0), "warehouse": in_warehouse.get(task_id, 0)}
        for task_id in sorted(set(in_logs) | set(in_warehouse))
        if in_logs.get(task_id, 0) != in_warehouse.get(task_id, 0)
    }
    if importing:
        state = "importing"
    elif not in_warehouse:
        state = "not_imported"
    else:
        state = "stale" if mismatched else "imported"
    return WarehouseState(
        state=state,
        samples_in_logs=sum(in_logs.values()),
        samples_in_warehouse=sum(in_warehouse.values()),
        mismatched=mismatched,
        last_import=last_import,
    )


def _last_import(instance: dg.DagsterInstance, eval_set_id: str) -> datetime | None:
    from dagster import AssetKey, AssetRecordsFilter

    from hawk_dagster.names import EVAL_WAREHOUSE

    result = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(EVAL_WAREHOUSE), asset_partitions=[eval_set_id]),
        limit=1,
        ascending=False,
    )
    if not result.records:
        return None
    return datetime.fromtimestamp(result.records[0].timestamp, UTC)
