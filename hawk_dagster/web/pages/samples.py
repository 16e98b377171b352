"""``/samples``: every filter of ``hawk list samples`` (several eval sets, task, model, statuses, a score range on a
chosen scorer, text over the sample and its transcript, invalid or not), sort on any column, paged with the total,
the CSV of exactly this filter (the API's export, linked with the same parameters), and a histogram of the filter's
scores (an SQL aggregate).

The query parameters are the API's (``/api/v1/samples``), so a page's filter and its CSV link are one and the same;
empty form fields are dropped (a form without script sends them) rather than refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.api.routes.samples import LISTING_COLUMNS, check_query, validated_filter
from hawk_dagster.warehouse.read.page_figures import ScoreHistogram
from hawk_dagster.warehouse.read.queries import Page, SampleFilter
from hawk_dagster.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)

EXPORT_PATH: Final = "/api/v1/samples/export.csv"
LIST_PARAMS: Final = ("eval_set_id", "status")
SCALAR_PARAMS: Final = {
    "task": str, "task_id": str, "model": str, "scorer": str, "score_min": float, "score_max": float, "search": str,
    "invalid": bool, "sort": str, "desc": bool, "limit": int, "offset": int,
}  # fmt: skip
HISTOGRAM_BINS: Final = 20
HISTOGRAM_AT_ONCE: Final = 100_000
"""Above this many matches (without a text search) the histogram waits until asked for (``histogram=all``): its
aggregate reads every match (seconds for a million), while the listing's count and first page come from indexes."""
COLUMN_TITLES: Final = {
    "uuid": "Sample", "eval_set_id": "Eval set", "task": "Task", "model": "Model", "id": "Id", "epoch": "Epoch",
    "status": "Status", "score": "Score", "total_tokens": "Tokens", "total_time": "Time (s)",
    "message_count": "Messages", "completed_at": "Completed (UTC)", "error": "Error",
}  # fmt: skip


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is str:
        return raw
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1")
        return kind(raw)
    except ValueError:
        expected = {float: "a number", int: "a whole number", bool: "true or false"}[kind]
        raise ApiError(422, f"{name} must be {expected}; got {raw[:40]!r}", field=name) from None


def sample_query(request: Request) -> SampleFilter:
    """The page's filter from its URL, validated by the API's own :func:`validated_filter` (422 naming the field).
    Without ``sort`` or ``desc`` the newest come first (an index serves it; the API's default is oldest first)."""
    params = request.query_params
    values: dict[str, Any] = {name: [v for v in params.getlist(name) if v.strip()] for name in LIST_PARAMS}
    for name, kind in SCALAR_PARAMS.items():
        raw = (params.get(name) or "").strip()
        if raw:
            values[name] = _parse(name, raw, kind)
    if "sort" not in values and "desc" not in values:
        values["desc"] = True
    for name, bound in (("limit", (1, 1000)), ("offset", (0, None))):
        if name in values and (values[name] < bound[0] or (bound[1] is not None and values[name] > bound[1])):
            raise ApiError(422, f"{name} must be between {bound[0]} and {bound[1] or 'any'}", field=name)
    return validated_filter(
        eval_set_id=values["eval_set_id"], status=values["status"],
        **{k: v for k, v in values.items() if k not in LIST_PARAMS},
    )  # fmt: skip


def filter_params(f: SampleFilter, *, paging: bool = False) -> list[tuple[str, str]]:
    """``f`` as the API's query parameters (the CSV link; ``paging`` adds limit and offset)."""
    params: list[tuple[str, str]] = [("eval_set_id", e) for e in f.eval_set_ids]
    for name, value in (("task", f.task), ("task_id", f.task_id), ("model", f.model)):
        if value:
            params.append((name, value))
    params += [("status", s) for s in f.statuses]
    for name, number in (("scorer", f.scorer), ("score_min", f.score_min), ("score_max", f.score_max)):
        if number is not None and number != "":
            params.append((name, str(number)))
    if f.text:
        params.append(("search", f.text))
    if f.invalid is not None:
        params.append(("invalid", "true" if f.invalid else "false"))
    params += [("sort", f.sort), ("desc", "true" if f.descending else "false")]
    if paging:
        params += [("limit", str(f.limit)), ("offset", str(f.offset))]
    return params


def _page_and_scores(
    engine: Engine, f: SampleFilter, principal: Principal, *, histogram_wanted: bool
) -> tuple[Page, ScoreHistogram | None]:
    """The page of rows, the total, and the histogram (None: not computed, see :data:`HISTOGRAM_AT_ONCE`).

    With a text search the trigram index bounds the matches: one aggregate over one scan of them gives the total,
    the histogram and the page's pks (``page_figures.page_and_histogram``). Without one,
    the listing's own count and first page come from indexes, and the histogram follows when the matches are few
    enough or it is asked for."""
    from hawk_dagster.warehouse.read.page_figures import page_and_histogram, score_histogram
    from hawk_dagster.warehouse.read.queries import list_samples

    if not f.text:
        page = list_samples(engine, f, viewer=principal)
        if page.total > HISTOGRAM_AT_ONCE and not histogram_wanted:
            return page, None
        return page, score_histogram(engine, f, bins=HISTOGRAM_BINS, viewer=principal)
    return page_and_histogram(engine, f, bins=HISTOGRAM_BINS, viewer=principal)


@router.get("/samples", response_class=HTMLResponse)
def samples_page(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
) -> HTMLResponse:
    from hawk_dagster.warehouse.read.page_figures import (
        eval_set_choices,
        scorer_suggestions,
        task_and_model_choices,
    )
    from hawk_dagster.warehouse.read.queries import SAMPLE_STATUSES
    from hawk_dagster.web.charts import Bin, histogram

    f = sample_query(request)
    scorer_error = None
    try:
        check_query(engine, f, principal)  # 404 for an eval set not visible, 422 for an unknown scorer
    except ApiError as ex:
        if ex.field != "scorer":
            raise
        scorer_error = ex.message
    page = chart = None
    if scorer_error is None:
        wanted = request.query_params.get("histogram") == "all"
        page, scores = _page_and_scores(engine, f, principal, histogram_wanted=wanted)
        score_name = f.scorer or "headline score"
        if scores is not None:
            chart = histogram(
                [Bin(*b) for b in scores.bins],
                title=f"Distribution of {score_name} over the {scores.scored} matching samples with a numeric score",
                x_label=score_name,
            )
    tasks, models = task_and_model_choices(engine, f.eval_set_ids, viewer=principal)
    scorers = scorer_suggestions(engine, f, viewer=principal) if f.reads_eval else []
    eval_sets = eval_set_choices(engine, viewer=principal)
    shown = {row["eval_set_id"] for row in eval_sets}
    eval_sets += [{"eval_set_id": e, "name": None} for e in f.eval_set_ids if e not in shown]
    return render(
        request,
        "samples.html",
        principal,
        title="Samples",
        f=f,
        page=page,
        chart=chart,
        scorer_error=scorer_error,
        eval_sets=eval_sets,
        tasks=tasks,
        models=models,
        scorers=scorers,
        statuses=SAMPLE_STATUSES,
        columns=[c for c in LISTING_COLUMNS if c != "is_invalid"],
        titles=COLUMN_TITLES,
        csv_url=f"{EXPORT_PATH}?{urlencode(filter_params(f))}",
    )
