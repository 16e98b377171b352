"""Two or more eval sets side by side on the task x model cells they all ran: each set's metric, its difference from
the first set (the baseline) with a 95 % confidence interval where both metrics have a standard error, and the
samples whose scores differ.

**The interval.** For a cell with metric values v1 (baseline) and v2 and the standard errors se1 and se2 that
Inspect's ``stderr()`` metric computed for them, the difference is ``v2 - v1`` and its 95 % interval
``(v2 - v1) ± 1.96 · sqrt(se1² + se2²)``: the normal approximation for the difference of two independent estimates.
Where either log has no stderr for the metric there is no interval (never one invented from the sample values, whose
reducers and clustering only the log's metric knows). Independence holds for two runs of a task; the same samples
scored twice are positively correlated, so the interval is then conservative (too wide), never too narrow.

**Differing samples** pair a baseline sample with the other set's sample of the same dataset id and epoch in the
same cell, and differ when their values of the chosen score differ (``IS DISTINCT FROM``: a score on one side only
counts too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

from sqlalchemy import Engine, and_, column, func, select, values
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from hawk_dagster.warehouse.read.eval_set_results import HEADLINE, Cell, EvalSetResults, eval_set_results
from hawk_dagster.warehouse.read.queries import Page, page_of
from hawk_dagster.warehouse.schema.models import Sample, Score

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal

Z_95: Final = 1.96
"""The standard normal quantile of a two-sided 95 % interval."""
MAX_COMPARED: Final = 6
"""More eval sets than this in one comparison would not fit a page side by side."""


@dataclass(frozen=True)
class Difference:
    """``value - baseline`` and, when both have a stderr, its 95 % interval (see the module docstring)."""

    value: float
    low: float | None
    high: float | None

    @property
    def significant(self) -> bool | None:
        """Whether the interval excludes zero (None without an interval)."""
        if self.low is None or self.high is None:
            return None
        return self.low > 0 or self.high < 0


def difference(
    baseline: float | None, baseline_se: float | None, value: float | None, value_se: float | None
) -> Difference | None:
    """The difference ``value - baseline`` with its interval ``± 1.96·sqrt(se1² + se2²)`` when both standard
    errors are known; None when either value is missing."""
    if baseline is None or value is None:
        return None
    diff = value - baseline
    if baseline_se is None or value_se is None:
        return Difference(diff, None, None)
    half = Z_95 * math.sqrt(baseline_se**2 + value_se**2)
    return Difference(diff, diff - half, diff + half)


@dataclass(frozen=True)
class ComparedCell:
    task: str
    model: str
    cells: list[Cell]
    """The cell in each eval set, in the comparison's order."""
    metric_name: str | None
    """The metric compared; None when the sets' metrics for this cell differ in name (nothing is compared then)."""
    values: list[float | None]
    stderrs: list[float | None]
    differences: list[Difference | None]
    """Per eval set after the first: its difference from the first (None when not comparable)."""
    differing: list[int | None]
    """Per eval set after the first: how many samples' scores differ from the first's (None: not compared)."""


@dataclass(frozen=True)
class Comparison:
    eval_sets: list[EvalSetResults]
    metric: str
    """:data:`~hawk_dagster.warehouse.read.eval_set_results.HEADLINE` or a ``score/metric`` name."""
    cells: list[ComparedCell]
    """The (task, model) cells every eval set ran, by task then model."""
    only_in: dict[str, int]
    """Per eval set id: how many of its cells the others lack (left out of the comparison)."""


def compare_eval_sets(
    engine: Engine, eval_set_ids: Sequence[str], *, metric: str = HEADLINE, viewer: Principal | None = None
) -> Comparison:
    """Compare ``eval_set_ids`` (the first is the baseline) as ``viewer`` may see them; any one they may not see
    raises ``UnknownIdError`` as an absent one does, so a comparison never shows a hidden set's numbers."""
    ids = list(dict.fromkeys(eval_set_ids))
    if len(ids) < 2:
        raise ValueError("compare needs at least two different eval sets")
    if len(ids) > MAX_COMPARED:
        raise ValueError(f"compare takes at most {MAX_COMPARED} eval sets, not {len(ids)}")
    sets = [eval_set_results(engine, eval_set_id, viewer=viewer) for eval_set_id in ids]
    common = [key for key in sets[0].cells if all(key in s.cells for s in sets[1:])]
    common.sort(key=lambda key: (sets[0].tasks.index(key[0]), key[1]))
    only_in = {s.eval_set_id: sum(1 for key in s.cells if key not in set(common)) for s in sets}
    compared = [
        _compare_cell(task, model, [s.cells[(task, model)] for s in sets], metric) for task, model in common
    ]
    counts = _differing_counts(engine, compared, metric)
    with_counts = [
        ComparedCell(
            c.task,
            c.model,
            c.cells,
            c.metric_name,
            c.values,
            c.stderrs,
            c.differences,
            [counts.get((c.cells[0].task_id, other.task_id, i), 0) for i, other in enumerate(c.cells[1:], 1)]
            if c.metric_name is not None
            else [None] * (len(c.cells) - 1),
        )
        for c in compared
    ]
    return Comparison(eval_sets=sets, metric=metric, cells=with_counts, only_in=only_in)


def _compare_cell(task: str, model: str, cells: list[Cell], metric: str) -> ComparedCell:
    chosen = [cell.metric(metric) for cell in cells]
    names = {m.name for m in chosen if m is not None}
    name = names.pop() if len(names) == 1 and all(m is not None for m in chosen) else None
    values = [m.value if m else None for m in chosen]
    stderrs = [m.stderr if m else None for m in chosen]
    differences = [
        difference(values[0], stderrs[0], values[i], stderrs[i]) if name is not None else None
        for i in range(1, len(cells))
    ]
    return ComparedCell(task, model, cells, name, values, stderrs, differences, [])


# ------------------------------------------------------------------------------------------------ differing samples


@dataclass(frozen=True)
class _Pairs:
    """Baseline samples (``a``) beside the other eval's sample of the same id and epoch (``b``), per eval pair:
    both sides are CTEs with the columns ``base_pk``, ``other_pk``, ``id``, ``epoch``, ``uuid`` and ``value``."""

    source: Any
    a: Any
    b: Any

    @property
    def differs(self) -> ColumnElement[bool]:
        differs: ColumnElement[bool] = self.a.c.value.is_distinct_from(self.b.c.value)
        return differs


def _pairs(eval_pairs: Sequence[tuple[UUID, UUID]], cell: Cell, metric: str) -> _Pairs:
    """Each (baseline eval, other eval) pair's samples matched by id and epoch, as one set-based join.

    Each side is read once, by eval (the ``sample`` rows of the pairs' baseline evals, then of their other evals),
    into a materialised CTE, and the two are hash-joined on (pair, id, epoch): one probe of the (eval_pk, id, epoch)
    index per baseline sample, which PostgreSQL chose when the sides were plain joins, took 540 ms for 50,000 pairs
    (benchmarks/README.md). The value compared is the headline score or the chosen score (``cell`` says which
    scorer and key it is)."""
    pairs = (
        select(
            values(column("base_pk", PG_UUID), column("other_pk", PG_UUID), name="pair_values")
            .data(list(eval_pairs))
            .alias("pair_values")
        )
        .cte("pairs")
        .prefix_with("MATERIALIZED")
    )
    chosen = cell.metric(metric)

    def side(name: str, eval_pk: Any) -> Any:
        sample = aliased(Sample, name=f"{name}_sample")
        source = pairs.join(sample, sample.eval_pk == eval_pk)
        value: Any = sample.headline_value
        if metric != HEADLINE and chosen is not None:
            score = aliased(Score, name=f"{name}_score")
            source = source.outerjoin(
                score,
                and_(
                    score.sample_pk == sample.pk, score.scorer == chosen.scorer, score.key == chosen.score_key
                ),
            )
            value = score.value_float
        rows = select(
            pairs.c.base_pk, pairs.c.other_pk, sample.id, sample.epoch, sample.uuid, value.label("value")
        ).select_from(source)
        return rows.cte(name).prefix_with("MATERIALIZED")

    a, b = side("a", pairs.c.base_pk), side("b", pairs.c.other_pk)
    on = and_(*(a.c[k] == b.c[k] for k in ("base_pk", "other_pk", "id", "epoch")))
    return _Pairs(a.join(b, on), a, b)


def differing_counts_query(eval_pairs: Sequence[tuple[UUID, UUID]], cell: Cell, metric: str) -> Select[Any]:
    """(baseline eval pk, other eval pk, differing samples) of each pair that has any (the choice of score read
    from ``cell``)."""
    joined = _pairs(eval_pairs, cell, metric)
    return (
        select(joined.a.c.base_pk, joined.a.c.other_pk, func.count())
        .select_from(joined.source)
        .where(joined.differs)
        .group_by(joined.a.c.base_pk, joined.a.c.other_pk)
    )


def _differing_counts(
    engine: Engine, compared: list[ComparedCell], metric: str
) -> dict[tuple[str, str, int], int]:
    """(baseline task id, other task id, position) -> differing samples: one grouped query per compared set."""
    found: dict[tuple[str, str, int], int] = {}
    comparable = [c for c in compared if c.metric_name is not None]
    if not comparable:
        return found
    with engine.connect() as conn:
        for position in range(1, len(comparable[0].cells)):
            by_pks = {(c.cells[0].eval_pk, c.cells[position].eval_pk): c for c in comparable}
            query = differing_counts_query(list(by_pks), comparable[0].cells[0], metric)
            for base_pk, other_pk, count in conn.execute(query):
                cell = by_pks[(base_pk, other_pk)]
                found[(cell.cells[0].task_id, cell.cells[position].task_id, position)] = count
    return found


def differing_samples(
    engine: Engine,
    eval_set_ids: Sequence[str],
    task: str,
    model: str,
    *,
    position: int = 1,
    metric: str = HEADLINE,
    limit: int = 50,
    offset: int = 0,
    viewer: Principal | None = None,
) -> Page:
    """The sample pairs of one compared cell whose scores differ: the baseline's against the eval set's at
    ``position``, by dataset id and epoch. Rows: ``id``, ``epoch``, ``base_uuid``, ``base_value``, ``other_uuid``,
    ``other_value``. An unknown or invisible eval set raises ``UnknownIdError``; a cell they do not share,
    ValueError."""
    ids = list(dict.fromkeys(eval_set_ids))
    if not 1 <= position < len(ids):
        raise ValueError(f"position must name a compared eval set after the first (1 to {len(ids) - 1})")
    base_cell = eval_set_results(engine, ids[0], viewer=viewer).cell(task, model)
    other_cell = eval_set_results(engine, ids[position], viewer=viewer).cell(task, model)
    if base_cell is None or other_cell is None:
        raise ValueError(
            f"eval sets {ids[0]!r} and {ids[position]!r} do not both have task {task!r} x {model!r}"
        )
    joined = _pairs([(base_cell.eval_pk, other_cell.eval_pk)], base_cell, metric)
    a, b = joined.a.c, joined.b.c
    rows_query = (
        select(
            a.id.label("id"),
            a.epoch.label("epoch"),
            a.uuid.label("base_uuid"),
            a.value.label("base_value"),
            b.uuid.label("other_uuid"),
            b.value.label("other_value"),
        )
        .select_from(joined.source)
        .where(joined.differs)
    )
    count = select(func.count()).select_from(joined.source).where(joined.differs)
    return page_of(engine, rows_query, order_by=[a.id, a.epoch], limit=limit, offset=offset, count=count)
