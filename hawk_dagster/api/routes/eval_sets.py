"""Eval sets: list them, list one's evals, submit one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.api.routes.body import CONFIG_BODY, submit_from

router = APIRouter(prefix="/api/v1/eval-sets", tags=["eval sets"])


@router.get("", summary="Eval sets, newest first (as `hawk list eval-sets`)")
def list_eval_sets(
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    search: Annotated[
        str | None, Query(max_length=200, description="Id, name, submitter or tag substring.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    from hawk_dagster.warehouse.read.queries import list_eval_sets as query

    page = query(engine, search=search, limit=limit, offset=offset, viewer=principal)
    return deps.page_body(page)


@router.get("/{eval_set_id}/evals", summary="The evals of an eval set (as `hawk list evals`)")
def list_evals(
    eval_set_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
) -> dict[str, Any]:
    from hawk_dagster.warehouse.read.headline import headline_name
    from hawk_dagster.warehouse.read.queries import UnknownIdError
    from hawk_dagster.warehouse.read.queries import list_evals as query

    deps.checked_id(eval_set_id, "eval_set_id")
    try:
        rows = query(engine, eval_set_id, viewer=principal)
    except UnknownIdError:
        raise not_found("eval set") from None
    items = [
        {**{k: v for k, v in row.items() if k != "location"},
         "headline_metric": headline_name(row["headline_score"], row["headline_metric"])}
        for row in rows
    ]  # fmt: skip
    return {"eval_set_id": eval_set_id, "items": items}


@router.post("", status_code=201, summary="Submit an eval set", openapi_extra=CONFIG_BODY)
async def submit_eval_set(
    request: Request, principal: Annotated[Principal, Depends(requires(Permission.SUBMIT))]
) -> dict[str, Any]:
    """Validated exactly as `hawk validate` and the configs sensor validate it (unknown top-level keys must be
    confirmed by a `# hawk-pass-through:` line); the submitter is the caller. Any refusal names the field and writes
    nothing."""
    from hawk_dagster.api.submissions import submit_eval_set as submit

    accepted = await submit_from(request, principal, submit)
    return {"eval_set_id": accepted.id, "config_path": accepted.config_path, "carried": accepted.carried}
