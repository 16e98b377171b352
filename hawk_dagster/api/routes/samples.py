"""Samples: the filtered, sorted, paged listing of ``hawk list samples`` (and its CSV export, streamed), one sample,
and its transcript (Markdown or Inspect's JSON)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.api.streaming import stream_csv
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.warehouse.read.queries import SampleFilter

router = APIRouter(prefix="/api/v1/samples", tags=["samples"])

LISTING_COLUMNS = ("uuid", "eval_set_id", "task", "model", "id", "epoch", "status", "score", "total_tokens",
                   "total_time", "message_count", "completed_at", "error", "is_invalid")  # fmt: skip


async def sample_filter(
    eval_set_id: Annotated[
        list[str], Query(description="Eval set ids (repeat for several); none: all.")
    ] = [],  # noqa: B006
    task: Annotated[str | None, Query(max_length=500)] = None,
    task_id: Annotated[
        str | None,
        Query(max_length=500, description="Inspect's task id: one eval of a task run several ways."),
    ] = None,
    model: Annotated[str | None, Query(max_length=500)] = None,
    status: Annotated[list[str], Query(description="success, error or <kind>_limit (repeatable).")] = [],  # noqa: B006
    scorer: Annotated[str | None, Query(max_length=500, description="NAME or NAME:KEY.")] = None,
    score_min: float | None = None,
    score_max: float | None = None,
    search: Annotated[
        str | None, Query(max_length=1000, description="Text in the sample or its transcript.")
    ] = None,
    invalid: bool | None = None,
    sort: str = "completed_at",
    desc: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SampleFilter:
    """Every filter, sort and page of ``hawk list samples``, as query parameters (async: it only checks values, so
    it runs on the event loop rather than taking a worker thread)."""
    return validated_filter(
        eval_set_id=eval_set_id, task=task, task_id=task_id, model=model, status=status, scorer=scorer,
        score_min=score_min, score_max=score_max, search=search, invalid=invalid, sort=sort, desc=desc, limit=limit,
        offset=offset,
    )  # fmt: skip


def validated_filter(
    *,
    eval_set_id: list[str],
    status: list[str],
    task: str | None = None,
    task_id: str | None = None,
    model: str | None = None,
    scorer: str | None = None,
    score_min: float | None = None,
    score_max: float | None = None,
    search: str | None = None,
    invalid: bool | None = None,
    sort: str = "completed_at",
    desc: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> SampleFilter:
    """The filter the API's query parameters name (the results pages take the same parameters), or a 422 naming
    the parameter."""
    from hawk_dagster.warehouse.read.queries import SAMPLE_SORTS, SAMPLE_STATUSES

    for value in eval_set_id:
        deps.checked_id(value, "eval_set_id")
    if sort not in SAMPLE_SORTS:
        raise ApiError(422, f"cannot sort on {sort[:80]!r}; sortable columns: {', '.join(SAMPLE_SORTS)}",
                       field="sort")  # fmt: skip
    for value in status:
        if value not in SAMPLE_STATUSES:
            raise ApiError(422, f"unknown status {value[:80]!r}; statuses: {', '.join(SAMPLE_STATUSES)}",
                           field="status")  # fmt: skip
    return SampleFilter(
        eval_set_ids=eval_set_id, task=task, task_id=task_id, model=model, statuses=status, scorer=scorer,
        score_min=score_min, score_max=score_max, text=search, invalid=invalid, sort=sort, descending=desc,
        limit=limit, offset=offset,
    )  # fmt: skip


def check_query(engine: Engine, query: SampleFilter, principal: Principal) -> None:
    """404 for an eval set the caller cannot see (or that is absent), 422 for a scorer none of the samples has."""
    from hawk_dagster.warehouse.read import queries

    for eval_set_id in query.eval_set_ids:
        try:
            queries.require_eval_set(engine, eval_set_id, viewer=principal)
        except queries.UnknownIdError:
            raise not_found("eval set") from None
    try:
        queries.require_scorer(engine, query, viewer=principal)
    except queries.UnknownIdError as ex:
        raise ApiError(422, str(ex), field="scorer") from None


@router.get("", summary="Samples, filtered, sorted and paged (as `hawk list samples`)")
def list_samples(
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    query: Annotated[SampleFilter, Depends(sample_filter)],
) -> dict[str, Any]:
    from hawk_dagster.warehouse.read import queries

    check_query(engine, query, principal)
    page = queries.list_samples(engine, query, viewer=principal)
    return deps.page_body(page)


@router.get(
    "/export.csv",
    summary="The matching samples as CSV, streamed (every match; `paged=true`: the page only)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_samples(
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    query: Annotated[SampleFilter, Depends(sample_filter)],
    paged: bool = False,
) -> StreamingResponse:
    from hawk_dagster.warehouse.read import queries

    check_query(engine, query, principal)
    return stream_csv(
        lambda out: queries.export_samples_csv(engine, query, out, paged=paged, viewer=principal),
        "samples.csv",
    )


def _location(engine: Engine, sample_uuid: str, principal: Principal) -> dict[str, Any]:
    from hawk_dagster.warehouse.read.queries import UnknownIdError, sample_location

    deps.checked_uuid(sample_uuid)
    try:
        return sample_location(engine, sample_uuid, viewer=principal)
    except UnknownIdError:
        raise not_found("sample") from None


@router.get(
    "/{sample_uuid}",
    summary="One sample: its eval set, task, model, id, epoch and log (`<eval_set_id>/<file>`, as Inspect's viewer "
    "at /viewer names it)",
)
def get_sample(
    sample_uuid: str,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    storage: Annotated[StorageRoot, Depends(deps.storage)],
) -> dict[str, Any]:
    from hawk_dagster.api.links import viewer_log

    where = _location(engine, sample_uuid, principal)
    log = viewer_log(storage.uri_of(EVALS), where["eval_set_id"], where["location"])
    return {**{k: v for k, v in where.items() if k != "location"}, "log": log}


@router.get(
    "/{sample_uuid}/transcript",
    summary="The sample's conversation: Markdown (as `hawk transcript`) or Inspect's JSON (`format=json`)",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/markdown": {}, "application/json": {}}}},
)
def get_transcript(
    sample_uuid: str,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    format: Literal["markdown", "json"] = "markdown",
) -> Response:
    from hawk_dagster.warehouse.read.transcript import SampleNotInLogError, read_sample, render_markdown

    where = _location(engine, sample_uuid, principal)
    try:
        sample = read_sample(where["location"], where["id"], where["epoch"], sample_uuid)
    except (SampleNotInLogError, FileNotFoundError):
        raise ApiError(
            409,
            f"sample {sample_uuid}'s log no longer holds it; the eval set needs re-importing",
            code="log_moved",
        ) from None
    if format == "json":
        return Response(json.dumps(sample, ensure_ascii=False), media_type="application/json")
    return PlainTextResponse(
        render_markdown(sample, task=where["task"], model=where["model"]),
        media_type="text/markdown; charset=utf-8",
    )
