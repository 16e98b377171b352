"""``/healthz`` (the process answers) and ``/readyz`` (the warehouse and the storage root answer too): public, for
load balancers and Kubernetes probes; they say nothing about the data."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from hawk_dagster.api import deps
from hawk_dagster.api.errors import error_response
from hawk_dagster.storage.root import StorageRoot

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

PUBLIC_PATHS: frozenset[str] = frozenset({"/healthz", "/readyz"})


@router.get("/healthz", summary="The server process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The warehouse and the storage root are reachable", response_model=None)
def readyz(
    engine: Annotated[Engine, Depends(deps.engine)], storage: Annotated[StorageRoot, Depends(deps.storage)]
) -> dict[str, Any] | JSONResponse:
    problems = []
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("readiness: warehouse unreachable: %s", type(exc).__name__)
        problems.append("the warehouse is unreachable")
    try:
        if not storage.path().exists():
            problems.append("the storage root does not exist")
    except Exception as exc:
        log.warning("readiness: storage root unreachable: %s", type(exc).__name__)
        problems.append("the storage root is unreachable")
    if problems:
        return error_response(503, "; ".join(problems), code="not_ready")
    return {"status": "ready"}
