"""Scans: list them, submit one, resume one, export one's results as CSV (streamed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from hawk_dagster.access.principal import Principal
from hawk_dagster.api import deps
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.api.permissions import Permission, requires
from hawk_dagster.api.routes.body import CONFIG_BODY, submit_from
from hawk_dagster.api.streaming import stream_csv
from hawk_dagster.storage.root import StorageRoot

router = APIRouter(prefix="/api/v1/scans", tags=["scans"])


@router.get("", summary="Scans, newest first (as `hawk list scans`)")
def list_scans(
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    search: Annotated[
        str | None, Query(max_length=200, description="Id, name or submitter substring.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    from hawk_dagster.warehouse.read.queries import list_scans as query

    page = query(engine, search=search, limit=limit, offset=offset, viewer=principal)
    return deps.page_body(page)


@router.post("", status_code=201, summary="Submit a scan", openapi_extra=CONFIG_BODY)
async def submit_scan(
    request: Request, principal: Annotated[Principal, Depends(requires(Permission.SCAN))]
) -> dict[str, Any]:
    """Validated exactly as `hawk validate` and the scan configs sensor validate it; the eval sets it reads must
    exist (and be visible to the caller). Any refusal names the field and writes nothing."""
    from hawk_dagster.api.submissions import submit_scan as submit

    accepted = await submit_from(request, principal, submit)
    return {"scan_id": accepted.id, "config_path": accepted.config_path, "carried": accepted.carried}


@router.post(
    "/{scan_id}/resume", status_code=202, summary="Resume a scan: its cells run again, resuming Scout"
)
def resume_scan(
    scan_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.SCAN))],
    engine: Annotated[Engine, Depends(deps.engine)],
    storage: Annotated[StorageRoot, Depends(deps.storage)],
) -> dict[str, str]:
    from hawk_dagster.api.submissions import resume_scan as resume

    deps.checked_id(scan_id, "scan_id")
    accepted = resume(storage, engine, scan_id, principal)
    return {"scan_id": accepted.id, "config_path": accepted.config_path}


@router.get(
    "/{scan_id}/results.csv",
    summary="A scan's results as CSV, streamed (as `hawk scan export`)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_results(
    scan_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.VIEW))],
    engine: Annotated[Engine, Depends(deps.engine)],
    scanner: Annotated[
        str | None, Query(max_length=500, description="Only this scanner key's results.")
    ] = None,
) -> StreamingResponse:
    from hawk_dagster.warehouse.read.queries import UnknownIdError, export_scanner_results_csv

    deps.checked_id(scan_id, "scan_id")
    try:
        return stream_csv(
            lambda out: export_scanner_results_csv(
                engine, scan_id, out, scanner_key=scanner, viewer=principal
            ),
            f"{scan_id}.csv",
        )
    except UnknownIdError as ex:
        if scanner is not None and "no scanner" in str(ex):
            raise ApiError(422, str(ex), field="scanner") from None
        raise not_found("scan") from None
