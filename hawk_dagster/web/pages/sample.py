"""``/samples/{uuid}``: one sample (input, target, output, every score with its edit history, metadata, limits,
error), a link to its transcript in Inspect's viewer on this origin, and, for editors, forms that edit a score or
(un)invalidate the sample through ``hawk_dagster.edits`` (the path ``hawk edit-samples`` takes; the author is the
signed-in principal)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.web.forms import form_fields
from hawk_dagster.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)

ACTIONS: Final = ("score_edit", "invalidate_sample", "uninvalidate_sample")
RESULT_MESSAGES: Final = {
    "applied": "The edit was written to the log and the warehouse re-imported it.",
    "unchanged": "Nothing changed: the sample already had those values.",
}


def _detail(engine: Engine, sample_uuid: str, principal: Principal) -> dict[str, Any]:
    from hawk_dagster.warehouse.read.page_figures import sample_detail
    from hawk_dagster.warehouse.read.queries import UnknownIdError

    deps.checked_uuid(sample_uuid)
    try:
        return sample_detail(engine, sample_uuid, viewer=principal)
    except UnknownIdError:
        raise not_found("sample") from None


def _viewer_url(request: Request, sample: dict[str, Any]) -> str | None:
    from hawk_dagster.api.viewer_links import log_path, sample_viewer_url

    if not request.app.state.settings.log_viewer:
        return None
    log = log_path(deps.storage_of(request).uri_of("evals"), sample["location"])
    return None if log is None else sample_viewer_url("", log, sample["id"], sample["epoch"])


def _page(
    request: Request,
    engine: Engine,
    principal: Principal,
    sample: dict[str, Any],
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    from hawk_dagster.access.policy import can_edit
    from hawk_dagster.edits.audit import list_edits

    edits = list_edits(engine, sample_uuid=sample["uuid"], viewer=principal, limit=1000)
    outcome = request.query_params.get("edit")
    return render(
        request,
        "sample.html",
        principal,
        status_code=status_code,
        title=f"Sample {sample['id']} (epoch {sample['epoch']})",
        s=sample,
        score_edits={
            score["scorer"]: [
                e for e in edits if e["type"] == "score_edit" and e["scorer"] == score["scorer"]
            ]
            for score in sample["scores"]
        },
        sample_edits=[e for e in edits if e["type"] != "score_edit"],
        viewer_url=_viewer_url(request, sample),
        editable=can_edit(principal, sample["model_groups"]),
        notice=RESULT_MESSAGES.get(outcome or ""),
        error=error,
        form=form or {},
        as_json=lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str),
    )


@router.get("/samples/{sample_uuid}", response_class=HTMLResponse)
def sample_page(
    sample_uuid: str,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
) -> HTMLResponse:
    return _page(request, engine, principal, _detail(engine, sample_uuid, principal))


def edit_from_form(sample_uuid: str, fields: dict[str, str]) -> dict[str, Any]:
    """The edit request's one item (``edits.request``'s flat shape) from the posted form; 422 naming the field."""
    action = fields.get("action", "")
    if action not in ACTIONS:
        raise ApiError(
            422, f"action must be one of {', '.join(ACTIONS)}; got {action[:40]!r}", field="action"
        )
    edit: dict[str, Any] = {"sample_uuid": sample_uuid, "type": action}
    reason = fields.get("reason", "").strip()
    if reason or action != "uninvalidate_sample":
        edit["reason"] = reason
    if action == "score_edit":
        edit["scorer"] = fields.get("scorer", "")
        raw = fields.get("value", "").strip()
        if not raw:
            raise ApiError(
                422, "value: give the new score (a number, a letter such as C, or JSON)", field="value"
            )
        try:
            edit["value"] = json.loads(raw)
        except json.JSONDecodeError:
            edit["value"] = raw  # a plain string score (e.g. C, I, P)
        if fields.get("explanation", "").strip():
            edit["explanation"] = fields["explanation"].strip()
    return edit


@router.post("/samples/{sample_uuid}/edits", response_class=HTMLResponse)
async def edit_sample(
    sample_uuid: str,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.EDIT))],
    engine: Annotated[Engine, Depends(deps.engine)],
) -> Response:
    """Apply one edit from the sample page's forms; back to the page (303) with what happened, or the page again
    with the error and nothing changed."""
    fields = await form_fields(request)
    sample = await run_in_threadpool(_detail, engine, sample_uuid, principal)
    try:
        edit = edit_from_form(sample_uuid, fields)
        outcome = await run_in_threadpool(_apply, request, engine, edit, principal)
    except ApiError as ex:
        failure = ex
    else:
        return RedirectResponse(f"/samples/{sample_uuid}?edit={outcome}", status_code=303)
    return await run_in_threadpool(
        _page, request, engine, principal, sample,
        status_code=failure.status_code, error=failure.message, form=fields,
    )  # fmt: skip


def _apply(request: Request, engine: Engine, edit: dict[str, Any], principal: Principal) -> str:
    """Plan and apply one edit as ``hawk edit-samples`` and the API do (reported to Dagster as theirs are);
    ``applied`` or ``unchanged``, or an ApiError."""
    from hawk_dagster.api.routes.edits import apply_reported
    from hawk_dagster.edits.log_edits import EvalRunningError
    from hawk_dagster.edits.request import RequestError, parse_request
    from hawk_dagster.edits.targets import EditForbiddenError, plan_edits

    try:
        edits = parse_request(json.dumps([edit]))
        plan = plan_edits(engine, edits, principal)
        result = apply_reported(request, plan, principal, edits)
    except RequestError as ex:
        raise ApiError(422, str(ex).replace("item 0: ", ""), field="edit") from None
    except EditForbiddenError:
        raise ApiError(403, "you may view this sample but not edit it") from None
    except EvalRunningError as ex:
        raise ApiError(409, str(ex)) from None
    failed = [log.error for log in result.logs if log.error]
    if failed:
        raise ApiError(409, failed[0])
    statuses = [e.status for log in result.logs if log.outcome for e in log.outcome.edits]
    return "applied" if "applied" in statuses else "unchanged"
