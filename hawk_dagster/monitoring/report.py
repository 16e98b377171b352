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


class PodState(_Report):
    name: str
    namespace: str
    phase: str | None
    restarts: int
    oom_killed: bool = Field(
        description="A container of the pod was killed for using more memory than its limit."
    )
    reason: str | None = Field(
        description="A waiting or terminated container's reason (ImagePullBackOff, Error, ...)."
    )
    events: list[str] = Field(
        description="The pod's recent Kubernetes events, oldest first: `Type Reason: message`."
    )


class KubernetesState(_Report):
    run_pods: list[PodState]
    sandbox_namespace: str | None
    sandbox_pods: list[PodState]
    detail: str | None = Field(None, description="Why pods could not be listed.")


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
