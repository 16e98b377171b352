"""The status report's shape: one JSON document per eval set, published as a JSON Schema (``hawk schema status``).

Scripts and dashboards read it, so fields are only ever added; ``schema_version`` changes if one must change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

RunState = Literal["not_started", "queued", "running", "succeeded", "failed", "canceled"]
CellState = Literal["not_started", "running", "success", "error", "cancelled", "started"]
"""``started``: a log exists but its eval neither finished nor runs now (a killed run; resuming continues it)."""
ImportState = Literal["not_imported", "importing", "imported", "stale", "unavailable"]


class _Report(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvalSetInfo(_Report):
    id: str
    name: str | None = Field(description="The config's name, when it has one.")
    created_by: str | None
    submitted_at: str | None
    log_dir: str = Field(description="Where the eval set's .eval logs are written.")
    cells: int = Field(description="Cells in the grid (task x agent/solver x model).")


class RunInfo(_Report):
    run_id: str
    status: str = Field(description="Dagster's run status: QUEUED, STARTED, SUCCESS, FAILURE, CANCELED, ...")
    job: str
    source: str | None = Field(
        description="What started it: a sensor, `hawk local eval-set`, a re-execution."
    )
    created_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    url: str = Field(description="The run's page in the Dagster UI.")
    failures: list[str] = Field(description="One line per failed step: why it failed.")


class SampleCounts(_Report):
    done: int
    total: int | None = Field(description="Samples the cell will run; unknown before its task started.")
    errors: int
    reused: int = Field(0, description="Samples a resumed run took over from an earlier log.")


class TokenUsage(_Report):
    input: int
    output: int
    total: int


class CellStatus(_Report):
    task: str = Field(description="The task name the cell runs under (unique per model).")
    agent: str | None = Field(description="The solver or agent label, when the grid has one.")
    model: str | None
    state: CellState
    samples: SampleCounts
    retries: int = Field(description="Sample retries after errors, summed over the cell's samples.")
    attempts: int = Field(
        description="Logs written for this cell: 1, plus one for each run a later run superseded."
    )
    tokens: dict[str, TokenUsage] = Field(
        description="Token usage per model (the cell's model, and any roles)."
    )
    source: Literal["progress", "log", "plan"] = Field(
        description="Where the counts come from: the running runner's progress, the cell's log, or only the plan."
    )
    log: str | None = Field(description="The cell's log file.")


class ErrorGroup(_Report):
    kind: str = Field(
        description="The error's type (the exception class), or `step failure` for Dagster steps."
    )
    count: int
    cells: list[str] = Field(description="Where it happened: `task [model]`, or the Dagster step.")
    example: str = Field(description="The first line of one occurrence.")


class WarehouseState(_Report):
    state: ImportState
    samples_in_logs: int | None
    samples_in_warehouse: int | None
    mismatched: dict[str, dict[str, int]] = Field(
        description="Per task id where the two differ: {logs: n, warehouse: m}."
    )
    last_import: datetime | None = Field(
        description="When the eval set's warehouse partition last materialised."
    )
    detail: str | None = Field(None, description="Why the state is `unavailable`.")


class PodEvent(_Report):
    type: str | None = Field(description="Normal or Warning.")
    reason: str | None = Field(
        description="Kubernetes' reason: Scheduled, Pulled, BackOff, OOMKilling, Evicted, ..."
    )
    message: str | None
    count: int = Field(description="How many times Kubernetes saw it (events of one kind are merged).")
    first_seen: datetime | None
    last_seen: datetime | None


class ContainerState(_Report):
    name: str
    init: bool = Field(description="An init container (runs to completion before the others start).")
    state: Literal["waiting", "running", "terminated", "unknown"]
    ready: bool
    restarts: int
    reason: str | None = Field(
        description="Why it waits or ended now: ContainerCreating, CrashLoopBackOff, OOMKilled, Error, Completed, ..."
    )
    exit_code: int | None = Field(description="Its exit code, when it has ended.")
    last_terminated_reason: str | None = Field(
        description="How its previous run ended (the one a restart replaced): OOMKilled, Error, ..."
    )
    last_exit_code: int | None


class PodState(_Report):
    name: str
    namespace: str
    run_id: str | None = Field(None, description="The Dagster run the pod belongs to (run pods only).")
    phase: str | None = Field(description="Pending, Running, Succeeded, Failed or Unknown.")
    created_at: datetime | None = None
    node: str | None = Field(None, description="The node it was scheduled on.")
    restarts: int = Field(description="Container restarts, summed over its containers.")
    oom_killed: bool = Field(
        description="A container of the pod was killed for using more memory than its limit (now or the run a "
        "restart replaced)."
    )
    reason: str | None = Field(
        description="The pod's own reason (Evicted, ...), else the first waiting or failed container's reason "
        "(ImagePullBackOff, CrashLoopBackOff, OOMKilled, Error, ...)."
    )
    containers: list[ContainerState] = Field(default_factory=list)
    events: list[PodEvent] = Field(
        description="The pod's most recent Kubernetes events (at most 10), oldest first."
    )


class KubernetesState(_Report):
    runs_namespace: str | None = Field(
        None, description="Where the run pods are (the launcher's job namespace)."
    )
    run_pods: list[PodState] = Field(
        description="The Kubernetes Job pods of the eval set's newest Dagster runs (labelled dagster/run-id); a "
        "finished run's pod is gone once Kubernetes removes its Job."
    )
    run_pods_error: str | None = Field(None, description="Why the run pods could not be listed.")
    sandbox_namespace: str | None = Field(
        description="The eval set's sandbox namespace (None: sandboxes are off)."
    )
    sandbox_pods: list[PodState]
    sandbox_pods_error: str | None = Field(None, description="Why the sandbox pods could not be listed.")
    detail: str | None = Field(None, description="Why pods could not be looked for at all.")


class StatusReport(_Report):
    """``hawk status``: an eval set's runs, its cells' progress, errors, warehouse import, and pods on Kubernetes."""

    schema_version: Literal[1] = SCHEMA_VERSION
    generated_at: datetime
    eval_set: EvalSetInfo
    state: RunState = Field(description="The latest run's state (not_started when no run was ever made).")
    runs: list[RunInfo] = Field(description="Every Dagster run of the eval set, newest first.")
    cells: list[CellStatus]
    errors: list[ErrorGroup] = Field(description="Errors grouped by kind, most frequent first.")
    warehouse: WarehouseState
    kubernetes: KubernetesState | None = Field(description="Only on a Kubernetes deployment.")


def status_schema() -> dict[str, object]:
    return StatusReport.model_json_schema()
