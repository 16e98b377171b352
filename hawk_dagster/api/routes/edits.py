"""Sample edits: apply a request (as `hawk edit-samples`) and list the recorded edits (as `hawk list edits`).

The request is validated as a whole by the CLI's own parser and planner (``edits.request``, ``edits.targets``), so
any refusal names the line and field and changes nothing; the author is the caller's token subject, never a field of
the body. A sample the caller cannot view is reported exactly like an unknown uuid; one they can view in an eval set
they may not edit (no edit permission) is refused by name.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.api.routes.body import body_text

if TYPE_CHECKING:
    from hawk_dagster.edits.request import EditRequest
    from hawk_dagster.edits.service import EditResult
    from hawk_dagster.edits.targets import EditPlan

router = APIRouter(prefix="/api/v1/sample-edits", tags=["sample edits"])
log = logging.getLogger(__name__)

JSONL_MEDIA_TYPES: Final = ("application/jsonl", "application/x-ndjson", "application/jsonlines")
EDIT_MEDIA_TYPES: Final = ("application/json", *JSONL_MEDIA_TYPES)
EDITS_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The edits as `hawk edit-samples` reads them: a JSON array (application/json; JSONL is "
        "recognised there too) or one edit per line (application/jsonl).",
        "content": {
            media: {"schema": {"type": "string"}} for media in ("application/json", "application/jsonl")
        },
    }
}


@router.post("", summary="Apply sample edits (as `hawk edit-samples`)", openapi_extra=EDITS_BODY)
async def post_edits(
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.EDIT))],
    dry_run: Annotated[
        bool, Query(description="Validate and describe what would change; change nothing.")
    ] = False,
) -> dict[str, Any]:
    """Rewrites each log once with all its edits, re-imports it and records the edits; refused (409) while a log's
    eval is running. `dry_run`: the plan's summary only."""
    media, text = await body_text(request, EDIT_MEDIA_TYPES, "the edits", code="invalid_edits")
    return await run_in_threadpool(_apply, request, principal, text, media in JSONL_MEDIA_TYPES, dry_run)


def _apply(request: Request, principal: Principal, text: str, jsonl: bool, dry_run: bool) -> dict[str, Any]:
    from hawk_dagster.edits.log_edits import EvalRunningError
    from hawk_dagster.edits.request import RequestError, parse_request
    from hawk_dagster.edits.service import describe_plan, refuse_running, result_body
    from hawk_dagster.edits.targets import EditForbiddenError, plan_edits

    engine = deps.engine_of(request)
    try:
        edits = parse_request(text, jsonl=True if jsonl else None)
        plan = plan_edits(engine, edits, principal)
        refuse_running(plan)
    except RequestError as ex:
        raise ApiError(422, f"{ex}\nnothing was changed", code="invalid_edits", field="body") from None
    except EditForbiddenError as ex:
        raise ApiError(403, str(ex), code="forbidden") from None
    except EvalRunningError as ex:
        raise ApiError(409, str(ex), code="eval_running") from None
    if dry_run:
        return {
            "summary": describe_plan(plan),
            "edits": len(edits.edits),
            "eval_set_ids": plan.eval_set_ids,
            "logs": [
                {"eval_set_id": p.eval_set_id, "task_id": p.task_id, "edits": len(p.edits)} for p in plan.logs
            ],
        }
    result = apply_reported(request, plan, principal, edits)
    return result_body(result)


def apply_reported(request: Request, plan: EditPlan, principal: Principal, edits: EditRequest) -> EditResult:
    """Apply a validated plan as the caller, each rewritten log reported to Dagster as a materialisation of its eval
    set's warehouse partition (the API and the sample page's forms both apply edits this way); 409 when an eval
    started running since the plan was made. Blocking."""
    from hawk_dagster.edits.dagster_events import edit_reporter
    from hawk_dagster.edits.log_edits import EvalRunningError
    from hawk_dagster.edits.service import apply_plan, author_of

    author = author_of(principal)
    report = edit_reporter(
        deps.dagster_instance(request),
        request_id=edits.request_id(author),
        author=author,
        warn=lambda message: log.warning("%s", message),
    )
    try:
        return apply_plan(deps.engine_of(request), plan, principal, on_log=report)
    except EvalRunningError as ex:  # a run started between the check and the first rewrite
        raise ApiError(409, str(ex), code="eval_running") from None


@router.get(
    "", summary="Recorded sample edits of an eval set or a sample, newest first (as `hawk list edits`)"
)
def list_edits(
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    request: Request,
    eval_set_id: str | None = None,
    sample_uuid: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    from hawk_dagster.edits.audit import eval_set_exists
    from hawk_dagster.edits.audit import list_edits as query

    if eval_set_id is None and sample_uuid is None:
        raise ApiError(422, "give eval_set_id or sample_uuid (or both)", field="eval_set_id")
    engine = deps.engine_of(request)
    if eval_set_id is not None:
        deps.checked_id(eval_set_id, "eval_set_id")
        if not eval_set_exists(engine, eval_set_id, viewer=principal):
            raise not_found("eval set")
    if sample_uuid is not None:
        deps.checked_uuid(sample_uuid)
    rows = query(
        engine, eval_set_id=eval_set_id, sample_uuid=sample_uuid, viewer=principal, limit=limit, offset=offset
    )
    return {"items": rows, "limit": limit, "offset": offset}
