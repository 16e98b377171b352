"""One eval set's results as a task x model grid: each cell's status, sample counts, error and limit breakdown,
token usage and metrics (the headline and every other score's, with their stderr when the log has one).

The numbers come from the eval rows (metrics and token usage as the logs record them) and sample counts read from
indexes alone (no sample row is fetched from the table), filtered by the viewer in SQL: an eval set the viewer may not see, or one ``hawk delete`` has hidden, raises
:class:`~hawk_dagster.warehouse.read.queries.UnknownIdError` exactly as an absent one does.

Metrics are Inspect's own (``eval.metrics``, the log's ``EvalResults``), not recomputed from the samples: the log's
reducers and metric functions decide what "accuracy" means. Evals imported before revision 0010 have none but the
headline (``eval.headline_value``) and no stderr.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from sqlalchemy import Engine, func, select

from hawk_dagster.access.policy import visible_clause
from hawk_dagster.warehouse.read.headline import headline_name
from hawk_dagster.warehouse.read.queries import UnknownIdError
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, Sample

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal

STDERR_METRICS: Final = frozenset({"stderr"})
"""Metric names that are a standard error of the score's other metrics (Inspect's ``stderr()``)."""
SPREAD_METRICS: Final = frozenset({"stderr", "std", "var"})
"""Metrics describing spread rather than a result: never offered as a grid's value."""
HEADLINE: Final = "headline"
"""The metric choice meaning "each eval's headline metric" (they may differ between tasks)."""


@dataclass(frozen=True)
class MetricValue:
    """One metric of one score of an eval: ``name`` is ``score/metric`` as :func:`headline_name` writes it."""

    name: str
    scorer: str
    score: str
    metric: str
    value: float | None
    stderr: float | None
    """The score's ``stderr`` metric, when the log computed one (None otherwise: no interval can be given)."""

    @property
    def score_key(self) -> str:
        """The ``score.key`` of this score's rows: '' for a scalar scorer, the dict key for a dict-valued one."""
        return "" if self.score == self.scorer else self.score


@dataclass(frozen=True)
class Cell:
    """One eval (task x model) of the eval set."""

    eval_set_id: str
    eval_pk: UUID
    task: str
    """The row label: the task's name, with the agent and arguments added only when needed to tell evals apart."""
    task_name: str
    model: str
    agent: str | None
    task_id: str
    status: str
    """The log's status: success, started (running or killed), cancelled or error."""
    error_message: str | None
    samples: int
    """Samples in the warehouse."""
    total_samples: int | None
    """Samples the log expects (dataset x epochs)."""
    statuses: dict[str, int]
    """Sample counts by sample status (success, error, ``<limit>_limit``)."""
    invalid: int
    usage: dict[str, dict[str, Any]]
    """Token usage per model as the log's stats record it (``eval.model_usage``: the eval's model and any other it
    called, e.g. a grader); empty until a run's log is finished."""
    location: str
    headline: MetricValue | None
    metrics: dict[str, MetricValue] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.statuses.get("error", 0)

    @property
    def limits(self) -> dict[str, int]:
        """Samples stopped by a limit, by limit kind (``message``, ``token``, ...)."""
        return {s.removesuffix("_limit"): n for s, n in sorted(self.statuses.items()) if s.endswith("_limit")}

    def metric(self, choice: str) -> MetricValue | None:
        """The headline (``choice`` :data:`HEADLINE`) or the named ``score/metric``."""
        return self.headline if choice == HEADLINE else self.metrics.get(choice)


@dataclass(frozen=True)
class ModelTokens:
    model: str
    evals: int
    """Evals whose logs record usage of the model."""
    input_tokens: int
    output_tokens: int
    total_tokens: int
    reasoning_tokens: int


@dataclass(frozen=True)
class EvalSetResults:
    eval_set_id: str
    name: str | None
    created_by: str | None
    created_at: datetime
    tags: list[str]
    tasks: list[str]
    models: list[str]
    cells: dict[tuple[str, str], Cell]
    """(task label, model) -> its cell; absent pairs were not run."""

    def cell(self, task: str, model: str) -> Cell | None:
        return self.cells.get((task, model))

    @property
    def metric_choices(self) -> list[str]:
        """The ``score/metric`` names some cell has (spread metrics left out), for the grid's metric chooser."""
        return sorted({name for cell in self.cells.values() for name in cell.metrics})

    @property
    def statuses(self) -> dict[str, int]:
        """Sample counts by status over the whole eval set."""
        total: Counter[str] = Counter()
        for cell in self.cells.values():
            total.update(cell.statuses)
        return dict(sorted(total.items()))

    @property
    def samples(self) -> int:
        return sum(cell.samples for cell in self.cells.values())

    @property
    def tokens_by_model(self) -> list[ModelTokens]:
        """Token usage per model, summed over the evals' logs."""
        by_model: dict[str, list[int]] = {}
        for cell in self.cells.values():
            for model, usage in cell.usage.items():
                sums = by_model.setdefault(model, [0, 0, 0, 0, 0])
                sums[0] += 1
                for i, field_name in enumerate(TOKEN_FIELDS, 1):
                    sums[i] += int(usage.get(field_name) or 0)
        return [ModelTokens(model, *sums) for model, sums in sorted(by_model.items())]


TOKEN_FIELDS: Final = ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens")
"""The ``ModelUsage`` fields :attr:`EvalSetResults.tokens_by_model` sums, in :class:`ModelTokens`' order."""


def eval_set_results(engine: Engine, eval_set_id: str, *, viewer: Principal | None = None) -> EvalSetResults:
    """The grid of one eval set, as ``viewer`` may see it (``None``: unrestricted)."""
    found = select(
        EvalSet.eval_set_id, EvalSet.name, EvalSet.created_by, EvalSet.created_at, EvalSet.tags
    ).where(EvalSet.eval_set_id == eval_set_id, EvalSet.deleted_at.is_(None))
    if viewer is not None:
        found = found.where(visible_clause(viewer, EvalSet.model_groups))
    evals = (
        select(
            Eval.pk,
            Eval.task_id,
            Eval.task_name,
            Eval.task_args,
            Eval.agent,
            Eval.model,
            Eval.status,
            Eval.error_message,
            Eval.total_samples,
            Eval.location,
            Eval.model_usage,
            Eval.headline_score,
            Eval.headline_metric,
            Eval.headline_value,
            Eval.metrics,
        )
        .where(Eval.eval_set_id == eval_set_id)
        .order_by(Eval.task_name, Eval.agent, Eval.model, Eval.task_id)
    )
    of_the_set = Sample.eval_pk.in_(select(Eval.pk).where(Eval.eval_set_id == eval_set_id))
    # counts from indexes alone: (eval_pk, status), and the partial index of invalidated samples (revision 0010)
    statuses = (
        select(Sample.eval_pk, Sample.status, func.count())
        .where(of_the_set)
        .group_by(Sample.eval_pk, Sample.status)
    )
    invalid = (
        select(Sample.eval_pk, func.count()).where(of_the_set, Sample.is_invalid).group_by(Sample.eval_pk)
    )
    with engine.connect() as conn:
        head = conn.execute(found).first()
        if head is None:  # absent, hidden or not visible: one answer
            raise UnknownIdError(f"no eval set {eval_set_id!r} in the warehouse")
        rows = [dict(r._mapping) for r in conn.execute(evals)]
        by_status: dict[Any, dict[str, int]] = {}
        for eval_pk, status, count in conn.execute(statuses):
            by_status.setdefault(eval_pk, {})[status] = count
        invalid_by_eval: dict[Any, int] = {
            eval_pk: count for eval_pk, count in conn.execute(invalid).tuples()
        }
    labels = _row_labels(rows)
    cells: dict[tuple[str, str], Cell] = {}
    for row, label in zip(rows, labels, strict=True):
        metrics = metric_values(row["metrics"])
        cells[(label, row["model"])] = Cell(
            eval_set_id=eval_set_id,
            eval_pk=row["pk"],
            task=label,
            task_name=row["task_name"],
            model=row["model"],
            agent=row["agent"],
            task_id=row["task_id"],
            status=row["status"],
            error_message=row["error_message"],
            samples=sum(by_status.get(row["pk"], {}).values()),
            total_samples=row["total_samples"],
            statuses=dict(sorted(by_status.get(row["pk"], {}).items())),
            invalid=invalid_by_eval.get(row["pk"], 0),
            usage=row["model_usage"] or {},
            location=row["location"],
            headline=_headline(row, metrics),
            metrics={m.name: m for m in metrics if m.metric not in SPREAD_METRICS},
        )
    return EvalSetResults(
        eval_set_id=head.eval_set_id,
        name=head.name,
        created_by=head.created_by,
        created_at=head.created_at,
        tags=list(head.tags),
        tasks=list(dict.fromkeys(labels)),
        models=sorted({row["model"] for row in rows}),
        cells=cells,
    )


def metric_values(stored: Sequence[dict[str, Any]] | None) -> list[MetricValue]:
    """``eval.metrics`` as :class:`MetricValue` s, each with its score's stderr (spread metrics included)."""
    values: list[MetricValue] = []
    for score in stored or ():
        metrics: dict[str, float | None] = score.get("metrics") or {}
        stderr = next((v for name, v in metrics.items() if name in STDERR_METRICS), None)
        for metric, value in metrics.items():
            values.append(
                MetricValue(
                    name=headline_name(score["score"], metric) or metric,
                    scorer=score["scorer"],
                    score=score["score"],
                    metric=metric,
                    value=value,
                    stderr=None if metric in SPREAD_METRICS else stderr,
                )
            )
    return values


def _headline(row: dict[str, Any], metrics: Iterable[MetricValue]) -> MetricValue | None:
    """The eval's headline metric, with its stderr from the stored metrics when the log has one."""
    if row["headline_metric"] is None:
        return None
    name = headline_name(row["headline_score"], row["headline_metric"]) or row["headline_metric"]
    stored = next((m for m in metrics if m.name == name), None)
    return MetricValue(
        name=name,
        scorer=stored.scorer if stored else row["headline_score"] or "",
        score=row["headline_score"] or "",
        metric=row["headline_metric"],
        value=row["headline_value"],
        stderr=stored.stderr if stored else None,
    )


def _row_labels(rows: Sequence[dict[str, Any]]) -> list[str]:
    """A row label per eval: its task name, plus the agent, plus the task arguments, only as far as needed to keep
    two evals of the same task and model apart (one eval set may run a task with two agents or argument sets)."""

    def label(row: dict[str, Any], depth: int) -> str:
        parts = [row["task_name"]]
        if depth >= 1 and row["agent"]:
            parts.append(f"[{row['agent']}]")
        if depth >= 2 and row["task_args"]:
            parts.append(json.dumps(row["task_args"], sort_keys=True, separators=(",", ":")))
        if depth >= 3:
            parts.append(f"<{row['task_id']}>")
        return " ".join(parts)

    for depth in range(4):
        labels = [label(row, depth) for row in rows]
        if len(set(zip(labels, (r["model"] for r in rows), strict=True))) == len(rows):
            return labels
    raise AssertionError("task ids are unique within an eval set")  # depth 3 includes the task id
