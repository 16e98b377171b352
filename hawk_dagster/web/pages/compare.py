"""``/compare?eval_set=A&eval_set=B[...]``: eval sets side by side on the task x model cells they all ran, each set's
metric (the headline, or a chosen ``score/metric``), its difference from the first set with a 95 % interval where the
logs have a stderr (``warehouse.read.comparison`` says how), a chart of the differences, and, for a chosen cell
(``task``, ``model``, ``against``), the samples whose scores differ, each linking to both samples' pages."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.web import charts
from hawk_dagster.web.render import render
from hawk_dagster.web.result_links import eval_set_url, sample_url, samples_url
from hawk_dagster.web.urls import url_with

router = APIRouter(tags=["pages"], include_in_schema=False)

PAGE_SIZE: Final = 50


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    eval_set: Annotated[list[str], Query(description="Eval set ids, the first is the baseline.")] = [],  # noqa: B006
    metric: Annotated[str, Query(max_length=500, description="headline or score/metric")] = "headline",
    task: Annotated[
        str | None, Query(max_length=500, description="The cell whose differing samples to list")
    ] = None,
    model: Annotated[str | None, Query(max_length=500)] = None,
    against: Annotated[
        int, Query(ge=1, description="Which compared set (1 = the second) the samples differ in")
    ] = 1,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    from hawk_dagster.warehouse.read.comparison import MAX_COMPARED, compare_eval_sets, differing_samples
    from hawk_dagster.warehouse.read.eval_set_results import HEADLINE
    from hawk_dagster.warehouse.read.queries import UnknownIdError

    ids = list(dict.fromkeys(deps.checked_id(value, "eval_set") for value in eval_set))
    if not 2 <= len(ids) <= MAX_COMPARED:
        raise ApiError(
            422,
            f"eval_set must name 2 to {MAX_COMPARED} different eval sets to compare; {len(ids)} given",
            field="eval_set",
        )
    if (task is None) != (model is None):
        missing = "model" if model is None else "task"
        raise ApiError(422, f"{missing} is missing: task and model choose a cell together", field=missing)
    if against >= len(ids):
        raise ApiError(422, f"against must be between 1 and {len(ids) - 1}", field="against")
    try:
        comparison = compare_eval_sets(engine, ids, metric=metric, viewer=principal)
    except UnknownIdError:
        raise not_found("eval set") from None
    choices = sorted({name for s in comparison.eval_sets for name in s.metric_choices})
    if metric != HEADLINE and metric not in choices:
        raise ApiError(
            422, f"no metric {metric[:80]!r} in these eval sets; metrics: {', '.join([HEADLINE, *choices])}",
            field="metric",
        )  # fmt: skip
    differing = None
    if task is not None and model is not None:
        if not any(c.task == task and c.model == model for c in comparison.cells):
            raise ApiError(
                422, f"task {task[:80]!r} x model {model[:80]!r} is not a compared cell", field="task"
            )
        differing = differing_samples(
            engine,
            ids,
            task,
            model,
            position=against,
            metric=metric,
            limit=PAGE_SIZE,
            offset=offset,
            viewer=principal,
        )
    bars = []
    for cell in comparison.cells:
        for i, diff in enumerate(cell.differences, 1):
            if diff is None:
                continue
            interval = (diff.low, diff.high) if diff.low is not None and diff.high is not None else None
            bars.append(
                charts.Bar(
                    label=f"{cell.task} · {cell.model}" + (f" ({ids[i]})" if len(ids) > 2 else ""),
                    value=diff.value,
                    text=f"{diff.value:+.3g}",
                    interval=interval,
                    href=_cell_url(request, cell.task, cell.model, i),
                )
            )
    chart = charts.horizontal_bars(
        bars,
        title=f"Difference from {ids[0]}",
        value_label=f"{'headline metric' if metric == HEADLINE else metric} minus {ids[0]}'s (95 % interval)",
    )
    return render(
        request,
        "compare.html",
        principal,
        title="Compare " + " · ".join(ids),
        comparison=comparison,
        ids=ids,
        metric=metric,
        headline=HEADLINE,
        choices=choices,
        chart=chart if bars else None,
        differing=differing,
        page=differing,
        task=task,
        model=model,
        against=against,
        fmt=charts.fmt,
        cell_url=lambda t, m, i: _cell_url(request, t, m, i),
        eval_set_url=eval_set_url,
        sample_url=sample_url,
        samples_url=samples_url,
    )


def _cell_url(request: Request, task: str, model: str, against: int) -> str:
    """This comparison with ``task`` x ``model``'s differing samples (against set ``against``) listed."""
    return url_with(request, task=task, model=model, against=against, offset=None) + "#differing"
