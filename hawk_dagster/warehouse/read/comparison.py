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

from sqlalchemy import Engine, Integer, and_, column, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
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


def _side(name: str, eval_pk: Any, cell: Cell, metric: str, *, outer: Any = None) -> Any:
    """One eval's samples as ``id``, ``epoch``, ``uuid`` and ``value`` (the headline score, or the chosen score:
    ``cell`` says which scorer and key it is), a subquery named ``name``; ``outer``: the FROM ``eval_pk`` is read
    from (the subquery is then LATERAL to it)."""
    sample = aliased(Sample, name=f"{name}_sample")
    chosen = cell.metric(metric)
    if metric == HEADLINE or chosen is None:
        rows = select(sample.id, sample.epoch, sample.uuid, sample.headline_value.label("value"))
    else:
        score = aliased(Score, name=f"{name}_score")
        on = and_(score.sample_pk == sample.pk, score.scorer == chosen.scorer, score.key == chosen.score_key)
        rows = select(sample.id, sample.epoch, sample.uuid, score.value_float.label("value")).outerjoin(
            score, on
        )
    rows = rows.where(sample.eval_pk == eval_pk)
    if outer is None:
        return rows.subquery(name)
    # OFFSET 0 keeps the subquery whole (PostgreSQL does not pull it up into the join): the other side cannot be
    # probed through the (eval_pk, id, epoch) index once per sample, each side is read once per pair, by eval
    return rows.offset(0).correlate(outer).lateral(name)


def _differing(a: Any, b: Any) -> tuple[Any, ColumnElement[bool]]:
    """The two sides joined by dataset id and epoch, and the condition that their values differ."""
    differs: ColumnElement[bool] = a.c.value.is_distinct_from(b.c.value)
    return a.join(b, and_(a.c.id == b.c.id, a.c.epoch == b.c.epoch)), differs


def differing_counts_query(eval_pairs: Sequence[tuple[UUID, UUID]], cell: Cell, metric: str) -> Select[Any]:
    """(index of the pair in ``eval_pairs``, samples whose values differ) per (baseline eval, other eval) pair.

    Set-based per pair: for each pair (a LATERAL subquery) both evals' samples are read once, by eval, and
    hash-joined on (id, epoch), a join of a few hundred rows that stays in cache. The single join over all pairs it
    replaces was planned as one (eval_pk, id, epoch) index probe per baseline sample: 50,000 probes and 200,000
    buffer reads for two eval sets of 20 tasks x 5 models x 500 samples, twice the time (benchmarks/README.md)."""
    pairs = (
        func.unnest(
            literal([base for base, _ in eval_pairs], ARRAY(PG_UUID)),
            literal([other for _, other in eval_pairs], ARRAY(PG_UUID)),
            literal(list(range(len(eval_pairs))), ARRAY(Integer)),
        )
        .table_valued(column("base_pk", PG_UUID), column("other_pk", PG_UUID), column("pair", Integer))
        .render_derived(name="pairs")
    )
    a = _side("a", pairs.c.base_pk, cell, metric, outer=pairs)
    b = _side("b", pairs.c.other_pk, cell, metric, outer=pairs)
    joined, differs = _differing(a, b)
    counted = select(func.count().label("differing")).select_from(joined).where(differs).lateral("counted")
    return select(pairs.c.pair, counted.c.differing).select_from(pairs.join(counted, true()))


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
            pairs = [(c.cells[0].eval_pk, c.cells[position].eval_pk) for c in comparable]
            query = differing_counts_query(pairs, comparable[0].cells[0], metric)
            for pair, count in conn.execute(query):
                if count:
                    cell = comparable[pair]
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
    a = _side("a", literal(base_cell.eval_pk, PG_UUID), base_cell, metric)
    b = _side("b", literal(other_cell.eval_pk, PG_UUID), base_cell, metric)
    joined, differs = _differing(a, b)
    rows_query = (
        select(
            a.c.id,
            a.c.epoch,
            a.c.uuid.label("base_uuid"),
            a.c.value.label("base_value"),
            b.c.uuid.label("other_uuid"),
            b.c.value.label("other_value"),
        )
        .select_from(joined)
        .where(differs)
    )
    count = select(func.count()).select_from(joined).where(differs)
    return page_of(engine, rows_query, order_by=[a.c.id, a.c.epoch], limit=limit, offset=offset, count=count)
