"""Operating an eval set: its status report (as `hawk status`), its logs (as `hawk logs`, followed with a cursor),
and deleting it (as `hawk delete`).

Who may: status and logs need view (the eval set's model groups); delete needs view and to be its submitter or an
administrator. Visibility is decided by ``evals.ownership`` (the warehouse row, else the submission and the groups
beside the logs), so an eval set that is running but not imported yet is covered too; one the caller cannot see
answers exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires

if TYPE_CHECKING:
    from hawk_dagster.evals.deletion import DeletionPlan
    from hawk_dagster.monitoring.log_stream import EvalSetLogs, LogLine

router = APIRouter(prefix="/api/v1/eval-sets", tags=["operations"])

FOLLOW_POLL_SECONDS: Final = 1.0
HEARTBEAT_SECONDS: Final = 10.0
"""A followed stream with nothing new still sends its cursor this often (proxies keep the connection, clients see
the server alive)."""
NDJSON: Final = "application/x-ndjson"


def _visible(request: Request, eval_set_id: str, principal: Principal) -> None:
    from hawk_dagster.access.policy import can_view
    from hawk_dagster.evals.ownership import eval_set_ownership

    deps.checked_id(eval_set_id, "eval_set_id")
    owner = eval_set_ownership(deps.storage_of(request), deps.engine_of(request), eval_set_id)
    if not can_view(principal, owner.groups):
        raise not_found("eval set")


@router.get("/{eval_set_id}/status", summary="The eval set's status report (as `hawk status`)")
def get_status(
    eval_set_id: str, request: Request, principal: Annotated[Principal, Depends(requires(Permission.VIEW))]
) -> dict[str, Any]:
    """The report `hawk schema status` describes: runs, each cell's progress, errors by kind, warehouse import; on
    Kubernetes also the eval set's run and sandbox pods."""
    from hawk_dagster.monitoring.status import UnknownEvalSetError, build_status

    _visible(request, eval_set_id, principal)
    try:
        report = build_status(
            deps.storage_of(request),
            eval_set_id,
            instance=deps.dagster_instance(request),
            engine=deps.engine_of(request),
            kubernetes=request.app.state.settings.kubernetes,
        )
    except UnknownEvalSetError:
        raise not_found("eval set") from None
    return report.model_dump(mode="json")


@router.get(
    "/{eval_set_id}/logs",
    summary="The eval set's Dagster events and runner output (as `hawk logs`), as NDJSON; `follow` streams",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}}},
)
def get_logs(
    eval_set_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    follow: Annotated[
        bool, Query(description="Keep streaming until no run of the eval set is active.")
    ] = False,
    since: Annotated[
        str | None, Query(max_length=20, description="Only lines of the last DURATION (15m, 2h, 1d).")
    ] = None,
    tail: Annotated[
        int | None, Query(ge=0, description="Only the last N lines of each source first.")
    ] = None,
    cursor: Annotated[
        str | None,
        Query(max_length=16384, description="Resume after the lines a previous answer ended with."),
    ] = None,
) -> StreamingResponse:
    """One JSON object per line: `{"type": "line", "time", "run_id", "level", "where", "text"}` for each log line,
    `{"type": "cursor", "cursor", "active"}` after each batch of lines (and as a heartbeat), and last `{"type":
    "end", "cursor", "reason"}`, `reason` being `finished` (nothing more will come) or `reconnect` (the server's
    follow window ended: ask again with the cursor). A client that prints lines only once the cursor after them has
    arrived, and reconnects with the last cursor it saw, prints every line once. `since` and `tail` apply to a first
    request (no cursor)."""
    from datetime import UTC, datetime

    from hawk_dagster.monitoring.log_stream import EvalSetLogs, parse_duration

    _visible(request, eval_set_id, principal)
    cutoff = None
    if since is not None and cursor is None:
        try:
            cutoff = datetime.now(UTC) - parse_duration(since)
        except ValueError as ex:
            raise ApiError(422, str(ex).replace("--since", "since"), field="since") from None
    storage = deps.storage_of(request)
    output = storage.runner_logs_dir / f"{eval_set_id}.log" if storage.is_local else None
    stream = EvalSetLogs(deps.dagster_instance(request), eval_set_id, output, since=cutoff)
    if cursor is not None:
        try:
            stream.resume(cursor)
        except ValueError as ex:
            raise ApiError(422, str(ex), field="cursor") from None
    if not stream.has_runs() and not (output is not None and output.is_file()):
        raise not_found("eval set")  # no run and no output: nothing to show, whether or not it exists
    settings = request.app.state.settings
    records = _records(
        stream, follow=follow, tail=tail if cursor is None else None, window=settings.follow_seconds
    )
    return StreamingResponse(_ndjson(records), media_type=NDJSON)


def _line(line: LogLine) -> dict[str, Any]:
    return {
        "type": "line",
        "time": line.time.isoformat() if line.time else None,
        "run_id": line.run_id,
        "level": line.level,
        "where": line.where,
        "text": line.text,
    }


async def _records(
    stream: EvalSetLogs, *, follow: bool, tail: int | None, window: float
) -> AsyncIterator[Any]:
    """The answer's records; blocking reads in worker threads, waits on the event loop (a follower holds no thread
    while it waits)."""
    from hawk_dagster.monitoring.log_stream import follow_steps, tail_lines

    first = await run_in_threadpool(lambda: tail_lines(stream.poll(final=not follow), tail))
    for line in first:
        yield _line(line)
    if not follow:
        yield {"type": "end", "cursor": stream.cursor(), "reason": "finished"}
        return
    yield {"type": "cursor", "cursor": stream.cursor(), "active": True}
    steps: Iterator[tuple[list[LogLine], bool]] = follow_steps(stream)
    ends = time.monotonic() + window
    last_sent = time.monotonic()
    while True:
        step = await run_in_threadpool(next, steps, None)
        if step is None:
            break
        lines, more = step
        for line in lines:
            yield _line(line)
        if lines or time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
            yield {"type": "cursor", "cursor": stream.cursor(), "active": more}
            last_sent = time.monotonic()
        if more:
            if time.monotonic() >= ends:
                yield {"type": "end", "cursor": stream.cursor(), "reason": "reconnect"}
                return
            await asyncio.sleep(FOLLOW_POLL_SECONDS)
    yield {"type": "end", "cursor": stream.cursor(), "reason": "finished"}


async def _ndjson(records: AsyncIterator[Any]) -> AsyncIterator[bytes]:
    async for record in records:
        yield (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _deletion_plan(request: Request, eval_set_id: str, principal: Principal) -> DeletionPlan:
    from hawk_dagster.evals.deletion import DeletionNotAllowedError, plan_deletion
    from hawk_dagster.warehouse.read.queries import UnknownIdError

    deps.checked_id(eval_set_id, "eval_set_id")
    try:
        return plan_deletion(
            deps.storage_of(request),
            eval_set_id,
            principal=principal,
            instance=deps.dagster_instance(request),
            engine=deps.engine_of(request),
        )
    except UnknownIdError:
        raise not_found("eval set") from None
    except DeletionNotAllowedError as ex:
        raise ApiError(403, str(ex), code="forbidden") from None


@router.get(
    "/{eval_set_id}/deletion",
    summary="What deleting the eval set would stop (for a confirmation prompt); nothing is changed",
)
def get_deletion_plan(
    eval_set_id: str, request: Request, principal: Annotated[Principal, Depends(requires(Permission.DELETE))]
) -> dict[str, Any]:
    """`runs_known` is false when the server has no Dagster instance (no `DAGSTER_HOME`): then runs are not
    stopped."""
    plan = _deletion_plan(request, eval_set_id, principal)
    return {
        "eval_set_id": plan.eval_set_id,
        "created_by": plan.created_by,
        "deleted_at": plan.deleted_at,
        "active_runs": [{"run_id": run_id, "status": status} for run_id, status in plan.active_runs],
        "sandbox_namespace": plan.sandbox_namespace,
        "log_dir": deps.storage_of(request).eval_log_dir(eval_set_id),
        "runs_known": deps.dagster_instance(request) is not None,
    }


@router.delete(
    "/{eval_set_id}",
    summary="Delete the eval set (as `hawk delete`): runs stopped, sandboxes removed, hidden; logs kept",
)
def delete_eval_set(
    eval_set_id: str, request: Request, principal: Annotated[Principal, Depends(requires(Permission.DELETE))]
) -> dict[str, Any]:
    """Its submitter or an administrator only (403 for others who can see it; 404 for those who cannot)."""
    from hawk_dagster.evals.deletion import delete_eval_set as delete

    plan = _deletion_plan(request, eval_set_id, principal)
    result = delete(
        plan,
        deleted_by=principal.subject,
        instance=deps.dagster_instance(request),
        engine=deps.engine_of(request),
    )
    return {
        "eval_set_id": eval_set_id,
        "stopped": list(result.stopped),
        "not_stopped": list(result.not_stopped),
        "sandbox_namespace": plan.sandbox_namespace if result.sandbox_deleted else None,
        "sandbox_deleted": result.sandbox_deleted,
    }
