"""The run plan: the one document the Dagster side hands to the runner.

The Dagster side validates the user's YAML and expands the grid; the runner only executes what the plan says. Keeping
the contract this small is what lets the runner install into a fresh virtual environment without Dagster or the
config models, and lets a plan be inspected (``hawk validate --format json``) before anything runs.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

PLAN_VERSION: Final = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TaskSource(_Strict):
    """Where a task comes from.

    - ``registry``: an installed package's task by registry name (``inspect_evals/mbpp``) or a builtin.
    - ``file``: ``path.py@task``; ``ref`` is the absolute path plus ``@task``.
    - ``cyber``: an Inspect Cyber tree; ``ref`` is the absolute directory holding ``eval.yaml`` files.
    """

    kind: Literal["registry", "file", "cyber"]
    ref: str
    args: dict[str, Any] = Field(default_factory=dict)
    sample_ids: list[str | int] | None = None
    # Inspect Cyber selection (kind == "cyber" only): eval names and variant names to keep.
    eval_names: list[str] | None = None
    variant_names: list[str] | None = None


class SolverSpec(_Strict):
    """A solver or an agent created with ``registry_create`` (agents are wrapped with ``as_solver``)."""

    kind: Literal["solver", "agent"]
    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class ModelSpec(_Strict):
    """A model for ``get_model(name, **args)``; ``config`` is an Inspect ``GenerateConfig`` as a dict."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None
    role: str | None = None


class GridCell(_Strict):
    """One task x solver/agent x model combination; ``name`` is the distinct task name it runs under."""

    name: str
    task: TaskSource
    task_label: str
    solver: SolverSpec | None = None
    solver_label: str | None = None
    model: ModelSpec | None = None
    model_label: str | None = None


class RunPlan(_Strict):
    """Everything the runner needs; no secrets ever (they arrive as environment variables)."""

    version: Literal[1] = PLAN_VERSION
    eval_set_id: str
    log_dir: str
    cells: list[GridCell]
    model_roles: dict[str, ModelSpec] = Field(default_factory=dict)
    # Keyword arguments for ``inspect_ai.eval_set`` beyond tasks/log_dir/model_roles (limits, epochs, tags, metadata,
    # approval, score, pass-through keys). Plain JSON values only.
    eval_set_args: dict[str, Any] = Field(default_factory=dict)
    # Names of the environment variables the runner must find (declared secrets), checked before anything starts.
    required_secrets: list[str] = Field(default_factory=list)
    # Plain (non-secret) environment for the run, from ``runner.environment``.
    environment: dict[str, str] = Field(default_factory=dict)
    # Extra pip requirement strings for the fresh virtual environment (empty: run in the current one).
    packages: list[str] = Field(default_factory=list)


# ------------------------------------------------------------------------------------------------------------- scans


class ScannerSpec(_Strict):
    """One scanner of a scan: created with ``scanner_create(name, args)``; its results are stored under ``key``."""

    key: str
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    # The scanner's own filter conditions (the transcript filter language). None: the scanner has no filter of its
    # own and reads what the scan's filter keeps. A list, even empty: its own filter replaces the scan's (conditions
    # and limit), applied to every transcript of the eval set.
    where: list[Any] | None = None
    # Set when the scanner's own filter has a limit: the transcripts chosen for it at submission.
    transcript_ids: list[str] | None = None


class ScanPlan(_Strict):
    """One scan cell: a scan's scanners over one eval set's logs. No secrets (they arrive as environment variables)."""

    version: Literal[1] = PLAN_VERSION
    scan_id: str
    eval_set_id: str
    log_dir: str
    """The eval set's log folder (local path or s3:// URL)."""
    results_dir: str
    """Where Scout writes this cell's scans (``<root>/scans/<scan_id>/<eval_set_id>``)."""
    scanners: list[ScannerSpec]
    where: list[Any] | None = None
    """The scan's filter conditions for every scanner without its own."""
    transcript_ids: list[str] | None = None
    """Set when the scan's filter has a limit: the transcripts of this eval set chosen at submission."""
    models: list[ModelSpec] = Field(default_factory=list)
    """Models for LLM scanners; the scan runs once per model (none: once, without a model)."""
    model_roles: dict[str, ModelSpec] = Field(default_factory=dict)
    max_transcripts: int | None = None
    max_processes: int = 1
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    required_secrets: list[str] = Field(default_factory=list)
    environment: dict[str, str] = Field(default_factory=dict)
    packages: list[str] = Field(default_factory=list)
