"""``/eval-sets/{id}``: one eval set as a task x model heatmap of a metric (the headline by default, or any
``score/metric`` the logs computed, chosen in the URL), each cell's status, sample counts, errors and limits, token
usage per model, and links to each cell's samples and to its log in Inspect's viewer. While a log is still running the
page reloads itself (as the eval sets page does), keeping its URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.web import charts
from hawk_dagster.web.render import render
from hawk_dagster.web.result_links import samples_url, viewer_url

if TYPE_CHECKING:
    from hawk_dagster.warehouse.read.eval_set_results import Cell

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/eval-sets/{eval_set_id}", response_class=HTMLResponse)
def eval_set_page(
    eval_set_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    metric: Annotated[str, Query(max_length=500, description="headline or score/metric")] = "headline",
) -> HTMLResponse:
    from hawk_dagster.warehouse.read.eval_set_results import HEADLINE, eval_set_results
    from hawk_dagster.warehouse.read.page_figures import RUNNING_STATUS
    from hawk_dagster.warehouse.read.queries import UnknownIdError
    from hawk_dagster.web.pages.eval_sets import REFRESH_SECONDS

    deps.checked_id(eval_set_id, "eval_set_id")
    try:
        results = eval_set_results(engine, eval_set_id, viewer=principal)
    except UnknownIdError:
        raise not_found("eval set") from None
    if metric != HEADLINE and metric not in results.metric_choices:
        choices = ", ".join([HEADLINE, *results.metric_choices])
        raise ApiError(422, f"no metric {metric[:80]!r} in this eval set; metrics: {choices}", field="metric")
    cells = []
    for cell in results.cells.values():
        chosen = cell.metric(metric)
        value = chosen.value if chosen else None
        text = (
            None
            if value is None
            else charts.fmt(value)
            + (f" ±{charts.fmt(chosen.stderr, 2)}" if chosen and chosen.stderr is not None else "")
        )
        note = f"{cell.samples} samples, {cell.errors} errors" + (
            f", {sum(cell.limits.values())} limited" if cell.limits else ""
        )
        if cell.status != "success":
            note += f", log {cell.status}"
        cells.append(
            charts.Cell(
                row=cell.task,
                column=cell.model,
                value=value,
                text=text,
                note=note,
                href=_cell_samples(eval_set_id, cell),
            )
        )
    metric_label = "headline metric" if metric == HEADLINE else metric
    values = [c.value for c in cells if c.value is not None]
    proportions = bool(values) and all(0.0 <= v <= 1.0 for v in values)
    heatmap = charts.heatmap(
        cells,
        title=f"{metric_label} by task and model",
        value_label=metric_label,
        rows=results.tasks,
        columns=results.models,
        # accuracies and other proportions on their full scale, so colours compare across eval sets
        low=0.0 if proportions else None,
        high=1.0 if proportions else None,
    )
    tokens = results.tokens_by_model
    token_chart = charts.horizontal_bars(
        [charts.Bar(label=t.model, value=float(t.total_tokens), text=f"{t.total_tokens:,}") for t in tokens],
        title="Total tokens per model",
        value_label="total tokens",
    )
    links = {
        key: {
            "samples": _cell_samples(eval_set_id, cell),
            "errors": _cell_samples(eval_set_id, cell, status="error"),
            "limits": {
                kind: _cell_samples(eval_set_id, cell, status=f"{kind}_limit") for kind in cell.limits
            },
            "viewer": viewer_url(request, cell.location),
        }
        for key, cell in results.cells.items()
    }
    running = any(cell.status == RUNNING_STATUS for cell in results.cells.values())
    return render(
        request,
        "eval_set.html",
        principal,
        title=results.name or results.eval_set_id,
        results=results,
        metric=metric,
        headline=HEADLINE,
        heatmap=heatmap,
        token_chart=token_chart,
        links=links,
        all_samples=samples_url(eval_set_id),
        fmt=charts.fmt,
        refresh=REFRESH_SECONDS if running else None,
    )


def _cell_samples(eval_set_id: str, cell: Cell, *, status: str | None = None) -> str:
    """The samples of exactly this cell: by task and model, and by Inspect's task id when the grid tells two evals of
    the task apart (run with two agents or argument sets), which the task name alone would mix."""
    task_id = cell.task_id if cell.task != cell.task_name else None
    return samples_url(eval_set_id, task=cell.task_name, task_id=task_id, model=cell.model, status=status)
